import { create, type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { type Msg, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import { codecForRequest } from "../codec/select.ts";
import type { Transport } from "../client/transport.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { timeoutHeader } from "../wire/headers.ts";
import { assertNamespace, defaultNamespace, nodeSubject, serviceSubject } from "../wire/subject.ts";
import { respondWithError } from "./error-reply.ts";
import { CallContext, type InstanceInfo } from "./handler-context.ts";
import { Mailbox } from "./mailbox.ts";

/** Options for {@link startService}. */
export interface StartServiceOptions {
  /** The NATS connection to serve on. */
  readonly connection: NatsConnection;
  /** The transport handlers use for nested calls (`ctx.client(...)`). */
  readonly transport: Transport;
  /** Namespace when the definition names none; default `micro`. */
  readonly namespace?: string;
  /** How long `stop()` lets in-flight work finish before aborting handlers; default 10000 ms. */
  readonly drainTimeoutMs?: number;
  /** Where handler failures are reported (with stack); default `console.error`. */
  readonly onHandlerError?: (error: unknown, endpoint: string) => void;
}

/** Counters of one running instance. */
export interface InstanceStats {
  readonly requests: number;
  readonly errors: number;
  /** Mean handler time in ms (decode, handler, encode). */
  readonly averageMs: number;
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
  /** The node subject prefix: `micro.node.<nodeId>`. */
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
  const nodeBase = nodeSubject(namespace, nodeId);
  const stopController = new AbortController();
  const onHandlerError = options.onHandlerError ??
    ((error: unknown, endpoint: string) => console.error(`[${definition.name}] ${endpoint} failed:`, error));
  const info: InstanceInfo = {
    service: { name: definition.name, version: definition.version, nodeId },
    id: nodeId,
    transport: options.transport,
    namespace,
    stopSignal: stopController.signal,
  };

  const endpoints = new Map<string, EndpointDefinition>();
  for (const endpoint of definition.endpoints) {
    endpoints.set(endpoint.name, endpoint);
    endpoints.set(endpoint.fullName, endpoint);
  }
  const endpointList = definition.endpoints.map((e) => e.name).join(", ");

  let requests = 0;
  let errors = 0;
  let busyMs = 0;
  const startedAt = Date.now();

  async function handle(msg: Msg, endpointName: string, arrived: number): Promise<void> {
    const began = performance.now();
    requests++;
    let context: CallContext | undefined;
    try {
      const endpoint = endpoints.get(endpointName);
      if (endpoint === undefined) {
        throw new MicroError("unimplemented", `${definition.name} has no endpoint "${endpointName}" (endpoints: ${endpointList})`, {
          detail: endpointName,
        });
      }
      if (endpoint.handler === undefined) {
        throw new MicroError("unimplemented", `${endpoint.name} is not implemented by ${definition.name} ${definition.version}`, {
          detail: endpoint.name,
        });
      }
      const headers = msg.headers;
      const codec = codecForRequest(headers, msg.data);
      const deadline = callDeadline(headers?.get(timeoutHeader), arrived, definition.defaultTimeoutMs);
      if (deadline <= Date.now()) {
        throw new MicroError("deadline_exceeded", `the call waited in the mailbox of ${definition.name} past its deadline`);
      }
      const request = codec.decode(endpoint.method.input, msg.data);
      context = new CallContext(info, endpoint.name, headers, deadline);
      const result = await endpoint.handler(request, context);
      if (msg.reply) msg.respond(codec.encode(endpoint.method.output, toMessage(endpoint.method.output, result)));
    } catch (cause) {
      errors++;
      const error = MicroError.from(cause);
      if (!(cause instanceof MicroError)) onHandlerError(cause, endpointName);
      respondWithError(msg, error, nodeId);
    } finally {
      context?.dispose();
      busyMs += performance.now() - began;
    }
  }

  function subscribe(prefix: string, queue: string | undefined): Subscription {
    const skip = prefix.length + 1;
    return nc.subscribe(`${prefix}.>`, {
      queue,
      callback: (_error, msg) => {
        const endpointName = msg.subject.slice(skip);
        if (!mailbox.offer({ msg, endpointName, arrived: Date.now() })) {
          errors++;
          respondWithError(
            msg,
            new MicroError("resource_exhausted", `mailbox of ${definition.name} is full (${mailbox.depth} waiting, ${mailbox.running} running); retry later`),
            nodeId,
          );
        }
      },
    });
  }

  const mailbox = new Mailbox<{ msg: Msg; endpointName: string; arrived: number }>(
    definition.mailbox.capacity,
    definition.mailbox.concurrency,
    (job) => handle(job.msg, job.endpointName, job.arrived),
  );
  const subscriptions = [subscribe(base, base), subscribe(nodeBase, undefined)];
  // Make sure the server knows the subscriptions before callers are told we are up.
  await nc.flush();

  let stopping: Promise<void> | undefined;
  async function stop(): Promise<void> {
    stopping ??= (async () => {
      // drain() delivers what the server already sent us, then unsubscribes.
      await Promise.all(subscriptions.map((s) => (nc.isClosed() ? undefined : s.drain().catch(() => undefined))));
      const grace = options.drainTimeoutMs ?? 10_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), grace)));
      const outcome = await Promise.race([mailbox.idle(), timedOut]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        stopController.abort(new MicroError("unavailable", `${definition.name} stopped before the call finished`));
        await mailbox.idle();
      }
    })();
    return stopping;
  }

  return {
    nodeId,
    definition,
    namespace,
    subject: base,
    nodeSubject: nodeBase,
    stats: () => ({
      requests,
      errors,
      averageMs: requests === 0 ? 0 : busyMs / requests,
      mailboxDepth: mailbox.depth,
      running: mailbox.running,
      startedAt,
    }),
    stop,
  };
}

/** The deadline of a call: its `Micro-Timeout` from arrival, or the service default for raw callers. */
function callDeadline(header: string | undefined, arrived: number, fallbackMs: number): number {
  if (!header) return arrived + fallbackMs;
  const ms = Number(header);
  if (!Number.isFinite(ms)) {
    throw new MicroError("invalid_argument", `${timeoutHeader} must be a number of milliseconds, got "${header}"`, { detail: timeoutHeader });
  }
  return arrived + ms;
}

function toMessage(schema: DescMessage, value: unknown): MessageShape<DescMessage> {
  if (isMessage(value, schema)) return value;
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `handler returned ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  return create(schema, value as Record<string, unknown>);
}
