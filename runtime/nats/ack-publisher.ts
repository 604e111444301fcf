/**
 * JetStream publishes whose acknowledgements come back on one shared inbox subscription. A
 * JetStream publish is a NATS request to the stream's subject, answered by the stream leader
 * with a JSON ack (or a JSON error, or NATS's no-responders status); this sends exactly that
 * message, with the same `Nats-Msg-Id` and expectation headers, so the stream applies the same
 * checks and the same deduplication as nats.js `js.publish()`.
 *
 * Why not `js.publish()` on the hot paths (actor commands, state commits): each nats.js request
 * builds up to three `Error`s with stack traces (a context, a timeout armed in advance, and a
 * "cancelled" one even when it succeeds), a promise with its own timer and a random token;
 * profiles of durable actors put that at several percent of a command. Here a request costs a
 * map entry and a counter, and one sweep timer bounds them all.
 * @module
 */
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from "@nats-io/nats-core";
import type { PubAck } from "@nats-io/jetstream";
import { Outbox } from "./outbox.ts";
import { expectedLastSubjectSeqHeader, inboxFilter, inboxReplySubject, isNoResponders, msgIdHeader } from "../protocol/mod.ts";

/** What one publish asks of the stream. */
export interface AckedPublishOptions {
  /** Headers to send (the message id and expectation are added to them). */
  readonly headers?: MsgHdrs;
  /** `Nats-Msg-Id`: the stream stores a message with an id it has seen (within its window) once. */
  readonly msgID?: string;
  /** Longest wait for the acknowledgement, in ms. */
  readonly timeout?: number;
  /** `lastSubjectSequence`: the stream refuses the message unless its subject's last sequence is this (0: none yet). */
  readonly expect?: { readonly lastSubjectSequence?: number };
}

/** Rejects a publish that got no acknowledgement in time (named as nats.js names its own). */
export class AckTimeoutError extends Error {
  override readonly name = "TimeoutError";
}

interface Pending {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (error: Error) => void;
  readonly until: number;
}

/** How often waiting publishes are checked against their deadlines. */
const sweepEveryMs = 50;
const defaultTimeoutMs = 5000;
const decoder = new TextDecoder();

/** Publishes to JetStream streams and resolves with their acks; see the module doc. */
export class AckPublisher {
  readonly #outbox: Outbox;
  readonly #prefix = createInbox();
  readonly #pending = new Map<string, Pending>();
  readonly #subscription: Subscription;
  #next = 0;
  #sweep: ReturnType<typeof setInterval> | undefined;
  #closed: string | undefined;

  /** `outbox`: where publishes wait for the end of the turn (one is made when not given). */
  constructor(nc: NatsConnection, outbox = new Outbox(nc)) {
    this.#outbox = outbox;
    const skip = this.#prefix.length + 1;
    this.#subscription = nc.subscribe(inboxFilter(this.#prefix), {
      callback: (_error, msg) => {
        const token = msg.subject.slice(skip);
        const call = this.#pending.get(token);
        if (call === undefined) return; // timed out before
        this.#pending.delete(token);
        settle(call, msg);
      },
    });
    void this.#subscription.closed.then(() => this.close("the NATS connection closed"));
  }

  /**
   * Publishes `data` to `subject` (which a stream must store) and resolves with the stream's
   * ack. Rejects with the stream's refusal (its description and error code, e.g. "wrong last
   * sequence: 5 (10071)"), "no responders" when no stream leader answered, an
   * {@link AckTimeoutError} after `timeout`, or when closed.
   */
  publish(subject: string, data: Uint8Array, options: AckedPublishOptions = {}): Promise<PubAck> {
    if (this.#closed !== undefined) return Promise.reject(new Error(`publishing to ${subject}: ${this.#closed}`));
    let headers = options.headers;
    if (options.msgID !== undefined || options.expect?.lastSubjectSequence !== undefined) {
      headers ??= natsHeaders();
      if (options.msgID !== undefined) headers.set(msgIdHeader, options.msgID);
      if (options.expect?.lastSubjectSequence !== undefined) headers.set(expectedLastSubjectSeqHeader, String(options.expect.lastSubjectSequence));
    }
    const token = String(++this.#next);
    return new Promise<PubAck>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, until: Date.now() + (options.timeout ?? defaultTimeoutMs) });
      this.#sweep ??= setInterval(() => this.#expire(), sweepEveryMs);
      this.#outbox.publish(subject, data, inboxReplySubject(this.#prefix, token), headers, (error) => {
        this.#pending.delete(token);
        reject(error);
      });
    });
  }

  /** Rejects what still waits (with `why`) and stops listening; later publishes reject. */
  close(why = "the publisher was closed"): void {
    if (this.#closed !== undefined) return;
    this.#closed = why;
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    for (const call of this.#pending.values()) call.reject(new Error(why));
    this.#pending.clear();
    if (!this.#subscription.isClosed()) this.#subscription.unsubscribe();
  }

  #expire(): void {
    const now = Date.now();
    for (const [token, call] of this.#pending) {
      if (call.until > now) continue;
      this.#pending.delete(token);
      call.reject(new AckTimeoutError("timeout waiting for the stream's acknowledgement"));
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }
}

/** Resolves or rejects `call` with what the stream answered. */
function settle(call: Pending, msg: Msg): void {
  if (isNoResponders(msg)) {
    call.reject(new Error("no responders: no stream leader answered (503)"));
    return;
  }
  let answer: { stream?: unknown; seq?: unknown; duplicate?: unknown; domain?: unknown; error?: { code?: number; err_code?: number; description?: string } };
  try {
    answer = JSON.parse(decoder.decode(msg.data));
  } catch {
    call.reject(new Error(`invalid acknowledgement from the stream: ${decoder.decode(msg.data.subarray(0, 200))}`));
    return;
  }
  if (answer.error !== undefined) {
    const { description = "unknown error", err_code, code } = answer.error;
    call.reject(Object.assign(new Error(`${description} (${err_code ?? code})`), { code: err_code ?? code }));
    return;
  }
  if (typeof answer.stream !== "string" || typeof answer.seq !== "number") {
    call.reject(new Error(`invalid acknowledgement from the stream: ${decoder.decode(msg.data.subarray(0, 200))}`));
    return;
  }
  call.resolve({ stream: answer.stream, seq: answer.seq, duplicate: answer.duplicate === true, domain: typeof answer.domain === "string" ? answer.domain : "" } as PubAck);
}
