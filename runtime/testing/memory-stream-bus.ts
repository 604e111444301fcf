/**
 * An in-process stand-in for the few NATS operations a stream uses, so the memory transport
 * runs streaming handlers through the same protocol code (frames, credit, heartbeats) as NATS.
 * @module
 */
import { headers as natsHeaders, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { endpointOf } from "../protocol/mod.ts";
import type { StreamConnection } from "../stream/protocol.ts";

type Callback = (error: Error | null, msg: Msg) => void;

/** Subjects in one process: exact subscriptions for inboxes, prefixes for services. */
export class MemoryStreamBus implements StreamConnection {
  /** The NATS default, so size errors read as they would on a server. */
  readonly info = { max_payload: 1024 * 1024 };
  readonly #subscriptions = new Map<string, Callback>();
  readonly #prefixes: Array<{ prefix: string; deliver: (endpoint: string, msg: Msg) => void }> = [];
  #closed = false;

  subscribe(subject: string, options: { callback: Callback }): { unsubscribe(): void } {
    this.#subscriptions.set(subject, options.callback);
    return { unsubscribe: () => this.#subscriptions.delete(subject) };
  }

  /** Delivers every message published to an endpoint under `prefix` (e.g. `micro.srv.counter`) to `deliver`. */
  route(prefix: string, deliver: (endpoint: string, msg: Msg) => void): void {
    this.#prefixes.push({ prefix, deliver });
  }

  publish(subject: string, data: Uint8Array, options: { reply?: string; headers?: MsgHdrs } = {}): void {
    if (this.#closed) throw new MicroError("unavailable", "the memory transport is closed");
    // A copy, as the wire would make: the sender may reuse its buffer.
    const msg = { subject, data: data.slice(), reply: options.reply ?? "", headers: options.headers } as unknown as Msg;
    // Asynchronous like the network, in publish order.
    queueMicrotask(() => this.#deliver(msg));
  }

  isClosed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
  }

  #deliver(msg: Msg): void {
    const callback = this.#subscriptions.get(msg.subject);
    if (callback !== undefined) return callback(null, msg);
    for (const route of this.#prefixes) {
      const endpoint = endpointOf(msg.subject, route.prefix);
      if (endpoint !== undefined) return route.deliver(endpoint, msg);
    }
    // Nobody listens: what nats-server tells a publisher that asked for a reply.
    if (msg.reply && !this.#closed) this.publish(msg.reply, new Uint8Array(0), { headers: natsHeaders(503, "No Responders") });
  }
}
