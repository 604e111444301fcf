/**
 * The NATS services protocol ("micro"), so `nats micro ls`, `@nats-io/services` clients and
 * NATS service libraries in Go, Rust or Java see jetmicro instances: every instance answers
 * `$SRV.{PING,INFO,STATS}`, `$SRV.{verb}.{name}` and `$SRV.{verb}.{name}.{id}` with the
 * `io.nats.micro.v1.*` JSON schemas.
 * @module
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { endpointSubject, servicesApiSubject, type ServicesVerb } from "../protocol/mod.ts";
import type { ServiceDefinition } from "../service/types.ts";
import { type EndpointStats, percentile } from "./endpoint-stats.ts";


/** What the protocol needs to know about an instance. */
export interface MicroProtocolInstance {
  readonly definition: ServiceDefinition;
  readonly nodeId: string;
  /** Queue subject prefix, e.g. `micro.srv.greeter`. */
  readonly subject: string;
  readonly startedAt: number;
  readonly stats: ReadonlyMap<string, EndpointStats>;
  /** The mailbox right now. */
  readonly mailbox: () => { depth: number; running: number; rejected: number };
  /** More fields for `data` in STATS answers. */
  readonly statsData?: () => Readonly<Record<string, unknown>>;
}

/** Subscribes the control subjects of one instance; drain or unsubscribe the result on stop. */
export function serveMicroProtocol(nc: NatsConnection, instance: MicroProtocolInstance): Subscription[] {
  const { definition, nodeId } = instance;
  const identity = { name: definition.name, id: nodeId, version: definition.version, metadata: { ...definition.metadata } };
  const endpointInfo = definition.endpoints.map((e) => ({
    name: e.name,
    subject: endpointSubject(instance.subject, e.name),
    queue_group: instance.subject,
    metadata: {
      proto: e.fullName,
      request: e.method.input.typeName,
      response: e.method.output.typeName,
      kind: e.method.methodKind,
      implemented: String(e.handler !== undefined || e.stream !== undefined),
    },
  }));
  const answers: Record<string, () => unknown> = {
    PING: () => ({ type: "io.nats.micro.v1.ping_response", ...identity }),
    INFO: () => ({
      type: "io.nats.micro.v1.info_response",
      ...identity,
      description: `${definition.descriptor.typeName} (jetmicro ${definition.type})`,
      endpoints: endpointInfo,
    }),
    STATS: () => {
      const mailbox = instance.mailbox();
      const extra = instance.statsData?.() ?? {};
      return {
      type: "io.nats.micro.v1.stats_response",
      ...identity,
      started: new Date(instance.startedAt).toISOString(),
      endpoints: endpointInfo.map((e) => {
        const s = instance.stats.get(e.name);
        const requests = s?.requests ?? 0;
        const processing = Math.round(s?.processingNs ?? 0);
        return {
          name: e.name,
          subject: e.subject,
          queue_group: e.queue_group,
          num_requests: requests,
          num_errors: s?.errors ?? 0,
          last_error: s?.lastError ?? "",
          processing_time: processing,
          average_processing_time: requests === 0 ? 0 : Math.round(processing / requests),
          // The protocol's free-form field: what jetmicro adds (times in ms).
          data: {
            p50_ms: s === undefined ? 0 : percentile(s, 50),
            p99_ms: s === undefined ? 0 : percentile(s, 99),
            mailbox_depth: mailbox.depth,
            running: mailbox.running,
            mailbox_rejected: mailbox.rejected,
            uptime_s: Math.round((Date.now() - instance.startedAt) / 1000),
            ...extra,
          },
        };
      }),
      };
    },
  };
  const subscriptions: Subscription[] = [];
  for (const [verb, answer] of Object.entries(answers)) {
    const v = verb as ServicesVerb;
    for (const subject of [servicesApiSubject(v), servicesApiSubject(v, definition.name), servicesApiSubject(v, definition.name, nodeId)]) {
      subscriptions.push(nc.subscribe(subject, {
        callback: (_error, msg) => {
          // A throw here would stop nats.js reading the connection: never let one out.
          try {
            msg.respond(JSON.stringify(answer()));
          } catch (error) {
            console.error(`[${definition.name}] ${subject} failed:`, error);
          }
        },
      }));
    }
  }
  return subscriptions;
}
