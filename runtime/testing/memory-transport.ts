import { type Msg, nuid } from "@nats-io/nats-core";
import { openStream } from "../client/open-stream.ts";
import type { Transport, TransportReply } from "../client/transport.ts";
import { MicroError } from "../errors/micro-error.ts";
import { defaultNamespace, encodeError, endpointOf, headersOf, nodeSubject, notDelivered, serviceSubject } from "../protocol/mod.ts";
import { createDispatch, type Dispatch } from "../server/dispatch.ts";
import type { InstanceInfo } from "../server/handler-context.ts";
import { createStreamServer } from "../server/stream-server.ts";
import type { ServiceDefinition } from "../service/types.ts";
import { MemoryStreamBus } from "./memory-stream-bus.ts";
import { isActorDefinition } from "../actor/define.ts";
import { subscribeServiceEvents } from "../broker/service-events.ts";
import type { Broker, EventSubscription } from "../broker/types.ts";
import { hostActorInMemory } from "./memory-actors.ts";

/** Options for {@link createMemoryTransport}. */
export interface MemoryTransportOptions {
  /** Namespace of services that name none; default `micro`. */
  readonly namespace?: string;
  /** Where handler failures are reported; default: collected silently (they still reach the caller). */
  readonly onHandlerError?: (error: unknown, endpoint: string) => void;
  /**
   * The event broker (e.g. `createMemoryBroker()`): the services' `onEvent` subscriptions run
   * on it, and `ctx.publish` / `ctx.broker` use it. Without one, subscriptions do not run.
   */
  readonly broker?: Broker;
}

/**
 * A transport that calls service definitions in this process, without NATS: for unit tests
 * of handler modules. Requests go through the same decoding, deadlines, error mapping and
 * nested-call propagation as over NATS (but no mailbox limits). Streaming methods run
 * through the stream protocol on an in-process bus (frames, credit, cancellation). Keyed
 * actor types run in memory (see `memory-actors.ts`); with a `broker`, event subscriptions
 * run too, through the service's interceptors.
 *
 * @example
 * ```ts
 * import greeter from "../services/greeter.ts";
 * const client = createClient(Greeter, createMemoryTransport([greeter]));
 * expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
 * ```
 */
export function createMemoryTransport(services: readonly ServiceDefinition[], options: MemoryTransportOptions = {}): Transport {
  const routes: Array<{ prefix: string; dispatch: Dispatch }> = [];
  const stop = new AbortController();
  const onHandlerError = options.onHandlerError ?? (() => {});
  const bus = new MemoryStreamBus();
  let closed = false;
  const closers: Array<() => void | Promise<void>> = [];

  const transport: Transport = {
    async request(subject, data, headers, deadline, signal): Promise<TransportReply> {
      if (closed) throw new MicroError("unavailable", "the memory transport is closed");
      if (signal?.aborted) throw new MicroError("canceled", "call canceled");
      for (const route of routes) {
        const endpoint = endpointOf(subject, route.prefix);
        if (endpoint === undefined) continue;
        const reply = route.dispatch(endpoint, data, headersOf(headers), Date.now()).then((response) => response.message as Uint8Array);
        return { data: await raceDeadline(reply, subject, deadline, signal), headers: undefined };
      }
      throw notDelivered(subject);
    },
    openStream(request) {
      if (closed) return Promise.reject(new MicroError("unavailable", "the memory transport is closed"));
      return openStream(bus, request);
    },
    async close() {
      closed = true;
      bus.close();
      stop.abort(new MicroError("unavailable", "the memory transport closed"));
      await Promise.all(closers.map((close) => close()));
    },
  };

  for (const given of services) {
    const namespace = given.namespace ?? options.namespace ?? defaultNamespace;
    const actor = isActorDefinition(given) ? hostActorInMemory(given, { namespace, transport, onHandlerError }) : undefined;
    if (actor !== undefined) closers.push(() => actor.close());
    const definition = actor?.definition ?? given;
    const nodeId = `${definition.name}-${nuid.next()}`;
    const info: InstanceInfo = {
      service: { name: definition.name, version: definition.version, nodeId },
      id: nodeId,
      transport,
      namespace,
      stopSignal: stop.signal,
      broker: options.broker,
      clientInterceptors: definition.clientInterceptors,
      clientObservers: definition.clientObservers,
    };
    if (options.broker !== undefined && definition.subscriptions.length > 0) {
      const started = subscribeServiceEvents(definition, { broker: options.broker, namespace, run: (work) => work(), onHandlerError, signal: stop.signal });
      started.catch((error) => onHandlerError(error, `subscriptions of ${definition.name}`));
      closers.push(() => started.then((subs: EventSubscription[]) => Promise.all(subs.map((s) => s.stop())), () => undefined).then(() => undefined));
    }
    const { dispatch, stats } = createDispatch(definition, info, onHandlerError);
    const queuePrefix = serviceSubject(namespace, definition.type, definition.name);
    const nodePrefix = nodeSubject(namespace, definition.name, nodeId);
    routes.push({ prefix: queuePrefix, dispatch }, { prefix: nodePrefix, dispatch });
    const streams = createStreamServer(definition, stats, { nc: bus, info, onHandlerError });
    const serveStream = (endpointName: string, msg: Msg) => {
      streams.serve(msg, endpointName, headersOf(msg.headers), Date.now()).catch((error) => {
        // Refused before it opened: an error reply, as over NATS.
        const frame = encodeError(MicroError.from(error), nodeId);
        if (msg.reply && !bus.isClosed()) bus.publish(msg.reply, frame.data, { headers: frame.headers });
      });
    };
    bus.route(queuePrefix, serveStream);
    bus.route(nodePrefix, serveStream);
  }
  return transport;
}

function raceDeadline(reply: Promise<Uint8Array>, subject: string, deadline: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const late = () => new MicroError("deadline_exceeded", `no reply from ${subject} before the deadline`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()));
    const onAbort = () => reject(new MicroError("canceled", "call canceled"));
    signal?.addEventListener("abort", onAbort, { once: true });
    // A handler that answers exactly at its deadline (its signal fired) is still late.
    reply.then((data) => (Date.now() >= deadline ? reject(late()) : resolve(data)), reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
  });
}
