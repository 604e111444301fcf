import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { DeadlineWheel, type Expirable } from "./deadline-wheel.ts";
import { inboxFilter, inboxReplySubject, replyError } from "../protocol/mod.ts";
import type { Transport, TransportReply } from "./transport.ts";
import type { StreamChannel } from "../stream/channel.ts";
import { openStream, type OpenStreamRequest } from "./open-stream.ts";
import { NodeLiveness } from "./node-liveness.ts";

class PendingCall implements Expirable {
  bucket = 0;
  constructor(
    readonly token: string,
    readonly subject: string,
    readonly signal: AbortSignal | undefined,
    readonly resolve: (reply: TransportReply) => void,
    readonly reject: (error: MicroError) => void,
    readonly owner: NatsTransport,
  ) {}
  expire(): void {
    this.owner.settle(this);
    this.reject(new MicroError("deadline_exceeded", `no reply from ${this.subject} before the deadline`));
  }
}

/** Options for {@link NatsTransport}. */
export interface NatsTransportOptions {
  /**
   * Publish the requests of one I/O turn together, at its end (`setImmediate`), instead of
   * each as it is made. nats.js writes to its socket once per microtask drain; a server that
   * gets each HTTP request in its own I/O callback (the gateway) would otherwise make one
   * socket write per request. Costs each request one event-loop hop; default false.
   */
  readonly batchWrites?: boolean;
}

/**
 * Request-reply over one long-lived wildcard inbox subscription: each call publishes with a
 * reply subject `<inbox>.<n>` and is matched by `n` when the reply arrives. No subscription,
 * timer or Error is created per call, which is where `nc.request()` spends its CPU.
 */
export class NatsTransport implements Transport {
  readonly #nc: NatsConnection;
  readonly #inbox: string;
  readonly #prefixLength: number;
  readonly #pending = new Map<string, PendingCall>();
  readonly #wheel = new DeadlineWheel<PendingCall>();
  /**
   * The calls waiting on each abort signal, with one listener per signal rather than one per
   * call: routed calls share their node's signal (aborted when the node goes silent), and an
   * `abort` listener added and removed per call costs Node several µs.
   */
  readonly #bySignal = new Map<AbortSignal, { readonly calls: Set<PendingCall>; readonly onAbort: () => void }>();
  readonly #sub: Subscription;
  readonly #liveness = new Map<string, NodeLiveness>();
  #next = 0;
  #closed = false;
  /** Sends waiting for the end of this I/O turn, when writes are batched. */
  #batch: Array<{ call: PendingCall; data: Uint8Array; headers: MsgHdrs }> | undefined;

  constructor(nc: NatsConnection, options: NatsTransportOptions = {}) {
    this.#nc = nc;
    this.#batch = options.batchWrites === true ? [] : undefined;
    this.#inbox = createInbox();
    this.#prefixLength = this.#inbox.length + 1;
    this.#sub = nc.subscribe(inboxFilter(this.#inbox), { callback: (_err, msg) => this.#onReply(msg) });
    // When the connection closes for good, nothing can answer the calls still waiting.
    nc.closed().then(() => this.#failAll("the NATS connection closed"));
  }

  request(subject: string, data: Uint8Array, headers: MsgHdrs, deadline: number, signal?: AbortSignal): Promise<TransportReply> {
    if (this.#closed) return Promise.reject(new MicroError("unavailable", "the client transport is closed"));
    if (signal?.aborted) return Promise.reject(canceled(signal));
    const token = (this.#next++).toString(36);
    return new Promise<TransportReply>((resolve, reject) => {
      const call = new PendingCall(token, subject, signal, resolve, reject, this);
      this.#pending.set(token, call);
      call.bucket = this.#wheel.add(call, deadline);
      if (signal !== undefined) this.#watchSignal(call, signal);
      const limit = this.#nc.info?.max_payload;
      if (limit !== undefined && data.length > limit) {
        this.settle(call);
        return reject(new MicroError("invalid_argument", `the request to ${subject} is ${data.length} bytes, over the NATS max payload of ${limit}`));
      }
      if (this.#batch === undefined) return this.#publish(call, data, headers);
      // Sends of this I/O turn go out together (see NatsTransportOptions.batchWrites).
      if (this.#batch.length === 0) setImmediate(this.#flushBatch);
      this.#batch.push({ call, data, headers });
    });
  }

  #publish(call: PendingCall, data: Uint8Array, headers: MsgHdrs): void {
    try {
      this.#nc.publish(call.subject, data, { reply: inboxReplySubject(this.#inbox, call.token), headers });
    } catch (cause) {
      this.settle(call);
      call.reject(MicroError.from(cause, "unavailable"));
    }
  }

  readonly #flushBatch = (): void => {
    const batch = this.#batch!;
    this.#batch = [];
    // A call that ended while it waited (canceled, deadline, transport closed) is not sent.
    for (const { call, data, headers } of batch) if (this.#pending.get(call.token) === call) this.#publish(call, data, headers);
  };

  /** Opens a stream on this transport's connection (see `runtime/stream/protocol.ts`). */
  openStream(request: OpenStreamRequest): Promise<StreamChannel> {
    if (this.#closed) return Promise.reject(new MicroError("unavailable", "the client transport is closed"));
    return openStream(this.#nc, request);
  }

  /**
   * The heartbeats of the nodes of `namespace`: one subscription per namespace, made on first
   * use (the first routed call) and kept until the transport closes.
   */
  liveness(namespace: string): NodeLiveness {
    let liveness = this.#liveness.get(namespace);
    if (liveness === undefined) {
      liveness = new NodeLiveness(this.#nc, namespace);
      this.#liveness.set(namespace, liveness);
    }
    return liveness;
  }

  #watchSignal(call: PendingCall, signal: AbortSignal): void {
    let entry = this.#bySignal.get(signal);
    if (entry === undefined) {
      const calls = new Set<PendingCall>();
      const onAbort = () => {
        this.#bySignal.delete(signal);
        for (const waiting of [...calls]) {
          this.settle(waiting);
          waiting.reject(canceled(signal));
        }
      };
      entry = { calls, onAbort };
      this.#bySignal.set(signal, entry);
      signal.addEventListener("abort", onAbort, { once: true });
    }
    entry.calls.add(call);
  }

  #unwatchSignal(call: PendingCall, signal: AbortSignal): void {
    const entry = this.#bySignal.get(signal);
    if (entry === undefined || !entry.calls.delete(call) || entry.calls.size > 0) return;
    this.#bySignal.delete(signal);
    signal.removeEventListener("abort", entry.onAbort);
  }

  /** Removes a call from every table; internal to the transport and its calls. */
  settle(call: PendingCall): void {
    this.#pending.delete(call.token);
    this.#wheel.remove(call, call.bucket);
    if (call.signal !== undefined) this.#unwatchSignal(call, call.signal);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#failAll("the client transport closed");
    this.#closed = true;
    for (const liveness of this.#liveness.values()) liveness.close();
    this.#liveness.clear();
    if (!this.#nc.isClosed()) this.#sub.unsubscribe();
  }

  #onReply(msg: Msg): void {
    const call = this.#pending.get(msg.subject.slice(this.#prefixLength));
    if (call === undefined) return; // late reply after timeout or cancel
    this.settle(call);
    const headers = msg.headers;
    if (headers !== undefined) {
      const error = replyError(msg, call.subject);
      if (error !== undefined) return call.reject(error);
    }
    call.resolve({ data: msg.data, headers });
  }

  #failAll(reason: string): void {
    this.#closed = true;
    for (const call of [...this.#pending.values()]) {
      this.settle(call);
      call.reject(new MicroError("unavailable", reason));
    }
    this.#wheel.clear();
  }
}

function canceled(signal: AbortSignal): MicroError {
  const reason = signal.reason;
  return new MicroError("canceled", reason instanceof Error ? `call canceled: ${reason.message}` : "call canceled", { cause: reason });
}
