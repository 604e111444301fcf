import { type Msg, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import type { Transport } from "../client/transport.ts";
import type { Discovery } from "../client/discovery.ts";
import type { JetStreamBroker } from "../broker/nats-jetstream.ts";
import { subscribeServiceEvents } from "../broker/service-events.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { ServiceDefinition } from "../service/types.ts";
import { allEndpoints, assertNamespace, defaultNamespace, MsgRequestHeaders, nodeSubject, respondWithError, serviceSubject } from "../protocol/mod.ts";
import { createDispatch } from "./dispatch.ts";
import { percentile } from "./endpoint-stats.ts";
import { serveMicroProtocol } from "./nats-micro-protocol.ts";
import type { InstanceInfo } from "./handler-context.ts";
import { Mailbox } from "./mailbox.ts";
import { createStreamServer } from "./stream-server.ts";
import { startLivenessHeartbeat } from "./liveness-heartbeat.ts";

/** Options for {@link startService}. */
export interface StartServiceOptions {
  /** The NATS connection to serve on. */
  readonly connection: NatsConnection;
  /** The transport handlers use for nested calls (`ctx.client(...)`). */
  readonly transport: Transport;
  /**
   * How handlers' nested calls choose nodes: with it, `ctx.client(...)` follows routing-rule
   * weights, versions, labels and keys as any client does; without, calls go to the queue.
   */
  readonly discovery?: Discovery;
  /** Namespace when the definition names none; default `micro`. */
  readonly namespace?: string;
  /** How long `stop()` lets in-flight work finish before aborting handlers; default 10000 ms. */
  readonly drainTimeoutMs?: number;
  /** The event broker: needed for the service's subscriptions and for `ctx.publish`. */
  readonly broker?: JetStreamBroker;
  /** Where handler failures are reported (with stack); default `console.error`. */
  readonly onHandlerError?: (error: unknown, endpoint: string) => void;
  /** More fields for the `data` of `$SRV.STATS` answers (the actor runtime adds its keys here). */
  readonly statsData?: () => Readonly<Record<string, unknown>>;
}

/** Counters of one endpoint of a running instance. */
export interface EndpointStatsView {
  readonly requests: number;
  readonly errors: number;
  /** Mean handler time in ms (decode, handler, encode). */
  readonly averageMs: number;
  /** `code: message` of the last error, "" if none. */
  readonly lastError: string;
  /** Median and 99th percentile handler time in ms over the latest 1024 calls. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** Counters of one running instance. */
export interface InstanceStats {
  /** Requests received, including those refused because the mailbox was full. */
  readonly requests: number;
  /** Requests answered with an error, including mailbox-full refusals. */
  readonly errors: number;
  /** Requests refused at once because the mailbox was full. */
  readonly rejected: number;
  /** Mean handler time in ms over all handled requests. */
  readonly averageMs: number;
  /** Per endpoint (`Greeter.SayHello`); calls to unknown endpoints count under `""`. */
  readonly endpoints: Readonly<Record<string, EndpointStatsView>>;
  readonly mailboxDepth: number;
  readonly running: number;
  readonly startedAt: number;
}

/** A running service instance: one actor with its mailbox. */
export interface ServiceInstance {
  /** The instance's node id (`greeter-<nuid>`), unique across the system. */
  readonly nodeId: string;
  readonly definition: ServiceDefinition;
  readonly namespace: string;
  /** The queue subject prefix: `micro.srv.greeter`. */
  readonly subject: string;
  /** The node subject prefix: `micro.node.<service>.<nodeId>`. */
  readonly nodeSubject: string;
  stats(): InstanceStats;
  /** Stops taking work, lets queued and running calls finish and reply, then unsubscribes. */
  stop(): Promise<void>;
}

/**
 * Starts one instance of a service on a NATS connection: subscribes its queue subject and its
 * node subject, and feeds both through the mailbox into the handlers.
 */
export async function startService(definition: ServiceDefinition, options: StartServiceOptions): Promise<ServiceInstance> {
  const namespace = definition.namespace ?? options.namespace ?? defaultNamespace;
  assertNamespace(namespace);
  const nc = options.connection;
  const nodeId = `${definition.name}-${nuid.next()}`;
  const base = serviceSubject(namespace, definition.type, definition.name);
  const nodeBase = nodeSubject(namespace, definition.name, nodeId);
  const stopController = new AbortController();
  const onHandlerError = options.onHandlerError ??
    ((error: unknown, endpoint: string) => console.error(`[${definition.name}] ${endpoint} failed:`, error));
  const info: InstanceInfo = {
    service: { name: definition.name, version: definition.version, nodeId },
    id: nodeId,
    transport: options.transport,
    namespace,
    stopSignal: stopController.signal,
    broker: options.broker,
    clientInterceptors: definition.clientInterceptors,
    clientObservers: definition.clientObservers,
    discovery: options.discovery,
  };

  const { dispatch, stats: endpointStats } = createDispatch(definition, info, onHandlerError);
  const streams = createStreamServer(definition, endpointStats, { nc, info, onHandlerError });
  let rejected = 0;
  const startedAt = Date.now();

  async function handle(msg: Msg, endpointName: string, arrived: number): Promise<void> {
    const headers = new MsgRequestHeaders(msg);
    try {
      // A stream holds its mailbox slot until it ends (see runtime/stream/protocol.ts).
      if (streams.isOpen(headers)) return await streams.serve(msg, endpointName, headers, arrived);
      const reply = (await dispatch(endpointName, msg.data, headers, arrived)).message as Uint8Array;
      // Answered straight by someone the handler handed the reply subject to (an actor's owner).
      if (!msg.reply || headers.answered) return;
      const limit = nc.info?.max_payload;
      if (limit !== undefined && reply.length > limit) {
        const counters = endpointStats.get(endpointName) ?? endpointStats.get("");
        if (counters !== undefined) counters.errors++;
        throw new MicroError("resource_exhausted", `the reply of ${endpointName} is ${reply.length} bytes, over the NATS max payload of ${limit}`);
      }
      msg.respond(reply);
    } catch (error) {
      if (!headers.answered) replyError(msg, MicroError.from(error), endpointName);
    }
  }

  /** Sends an error reply; a failure to send is logged, never thrown into NATS callbacks. */
  function replyError(msg: Msg, error: MicroError, endpointName: string): void {
    try {
      respondWithError(msg, error, nodeId);
    } catch (cause) {
      onHandlerError(cause, `${endpointName} (error reply)`);
    }
  }

  function stats(): InstanceStats {
    let requests = rejected;
    let errors = rejected;
    let processingNs = 0;
    const endpoints: Record<string, EndpointStatsView> = {};
    for (const [name, e] of endpointStats) {
      requests += e.requests;
      errors += e.errors;
      processingNs += e.processingNs;
      endpoints[name] = {
        requests: e.requests,
        errors: e.errors,
        averageMs: e.requests === 0 ? 0 : e.processingNs / e.requests / 1e6,
        lastError: e.lastError,
        p50Ms: percentile(e, 50),
        p99Ms: percentile(e, 99),
      };
    }
    const handled = requests - rejected;
    return {
      requests,
      errors,
      rejected,
      averageMs: handled === 0 ? 0 : processingNs / handled / 1e6,
      endpoints,
      mailboxDepth: mailbox.depth,
      running: mailbox.running,
      startedAt,
    };
  }

  function subscribe(prefix: string, queue: string | undefined): Subscription {
    const skip = prefix.length + 1;
    return nc.subscribe(allEndpoints(prefix), {
      queue,
      callback: (_error, msg) => {
        const endpointName = msg.subject.slice(skip);
        if (!mailbox.offer({ msg, endpointName, arrived: Date.now() })) {
          rejected++;
          replyError(
            msg,
            new MicroError("resource_exhausted", `mailbox of ${definition.name} is full (${mailbox.depth} waiting, ${mailbox.running} running); retry later`),
            endpointName,
          );
        }
      },
    });
  }

  // One mailbox for calls and events: the concurrency limit covers both.
  const mailbox = new Mailbox<Job>(
    definition.mailbox.capacity,
    definition.mailbox.concurrency,
    (job) => (typeof job === "function" ? job() : handle(job.msg, job.endpointName, job.arrived)),
  );
  const runInMailbox = (work: () => Promise<void>) =>
    new Promise<void>((resolve, reject) => void mailbox.offer(() => work().then(resolve, reject), true));
  const subscriptions = [
    subscribe(base, base),
    subscribe(nodeBase, undefined),
    ...serveMicroProtocol(nc, {
      definition,
      nodeId,
      subject: base,
      startedAt,
      stats: endpointStats,
      mailbox: () => ({ depth: mailbox.depth, running: mailbox.running, rejected }),
      statsData: options.statsData,
    }),
  ];
  // Make sure the server knows the subscriptions before callers are told we are up.
  await nc.flush();
  const stopHeartbeat = startLivenessHeartbeat(nc, namespace, definition.name, nodeId);
  const eventSubscriptions = await subscribeServiceEvents(definition, {
    broker: options.broker,
    namespace,
    run: runInMailbox,
    onHandlerError,
    signal: stopController.signal,
  }).catch(async (error) => {
    stopHeartbeat();
    await Promise.all(subscriptions.map((s) => s.drain().catch(() => undefined)));
    throw error;
  });

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      const grace = options.drainTimeoutMs ?? 10_000;
      const graceEnds = Date.now() + grace;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceOver = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), grace)));
      // Events first: in-flight ones finish and are acknowledged, the rest wait in JetStream
      // (an event whose handler outlives the grace is redelivered later).
      const events = await Promise.race([Promise.all(eventSubscriptions.map((s) => s.stop().catch(() => undefined))), graceOver]);
      // drain() delivers what the server already sent us, then unsubscribes.
      await Promise.all(subscriptions.map((s) => (nc.isClosed() ? undefined : s.drain().catch(() => undefined))));
      const calls = Date.now() < graceEnds ? await Promise.race([mailbox.idle(), graceOver]) : "timeout";
      clearTimeout(timer);
      if (events === "timeout" || calls === "timeout") {
        const stopped = new MicroError("unavailable", `${definition.name} stopped before the call finished`);
        // Queued calls never start; running handlers are told to give up, and get a little longer.
        for (const job of mailbox.clear()) if (typeof job !== "function") replyError(job.msg, stopped, job.endpointName);
        stopController.abort(stopped);
        let last: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([mailbox.idle(), new Promise((resolve) => (last = setTimeout(resolve, Math.min(grace, 1000))))]);
        clearTimeout(last);
      }
      // Only now: callers still waiting on this node's calls must not think it crashed.
      stopHeartbeat();
    })();
    return stopping;
  }

  return {
    nodeId,
    definition,
    namespace,
    subject: base,
    nodeSubject: nodeBase,
    stats,
    stop,
  };
}

/** A mailbox job: a request from NATS, or an event handler waiting for a slot. */
type Job = { msg: Msg; endpointName: string; arrived: number } | (() => Promise<void>);
