/**
 * The streaming wire protocol: how one RPC stream (server, client or bidi) runs over core NATS.
 *
 * 1. **Open.** The client subscribes a fresh inbox `C` and publishes an empty message to the
 *    endpoint subject (`micro.srv.greeter.Greeter.Chat`, or the node subject) with reply `C`
 *    and headers `Micro-Stream: 1`, `Micro-Stream-Window` (how many data frames it will
 *    buffer), `Micro-Stream-Window-Bytes` (how many data bytes it will buffer; optional, see
 *    `credit`), `Micro-Stream-Heartbeat` (ms), `Content-Type`, `Micro-Timeout` (only when the
 *    caller set a deadline) and metadata. The open waits in the service's mailbox like a call
 *    and holds one handler slot for the life of the stream.
 * 2. **Accept.** The server subscribes its own inbox `S` and sends an `open` frame to `C` with
 *    reply `S` and its own `Micro-Stream-Window` and `Micro-Stream-Window-Bytes`. Refusals (unknown endpoint, a unary method,
 *    a full mailbox) are an ordinary error reply to `C` instead; no responders is NATS's 503.
 *    A 503 to the `open` frame tells the server the client already left (it gave up while the
 *    open waited in the mailbox): the stream ends before the handler runs.
 * 3. **Frames.** Each side then publishes to the other's inbox; NATS keeps one publisher's
 *    order. A message without headers is a **data** frame (one encoded message, in the open's
 *    content type); control frames carry `Micro-Frame`:
 *    - `end`: the sender sends no more (client: half-close; server: the RPC succeeded).
 *    - `error`: the server's handler failed; `Nats-Service-Error`, `Nats-Service-Error-Code`
 *      and `Micro-Error-Code` headers as for unary errors, JSON body. It comes after the data
 *      frames already sent, so the client reads those first and then gets the error.
 *    - `credit` with `Micro-Credit: n`: the receiver consumed n data frames; the sender may
 *      send n more. A sender starts with the peer's window and stops at zero credit, so a slow
 *      consumer slows the producer and each side buffers at most its window. A side never holds
 *      more credit than the peer's window (at most {@link maxWindow}): extra grants are ignored.
 *      **Bytes too:** a side that announced `Micro-Stream-Window-Bytes` is also granted bytes
 *      (message payload lengths; batch framing not counted) with `Micro-Credit-Bytes: b` on the
 *      same credit frame. A sender counts both and sends while it holds message credit and any
 *      byte credit (byte credit may go below zero by the last message), so the peer buffers at
 *      most its byte window plus one message, and a single message larger than the window
 *      still passes once nothing else is in flight. A receiver that gets data past that fails
 *      the stream with `resource_exhausted`, as for the message window. A side that announces
 *      no byte window (older jetmicro) is counted in messages only both ways: it is neither held
 *      to the peer's byte window nor sent byte credit, and a service gives such a client the
 *      old message window ({@link legacyWindow}). A byte window must be an integer from 1 to
 *      {@link maxWindowBytes}: a service refuses an open announcing anything else with `invalid_argument`,
 *      a client fails on an accept with one (`internal`), an accept announcing more is capped,
 *      and byte credit that is not a positive integer grants nothing.
 *    - `ping`: heartbeat, sent by both sides every heartbeat interval. Any frame proves the
 *      peer alive; after {@link missedHeartbeats} intervals of silence the stream fails with
 *      `unavailable` on that side (a killed process, a lost connection). After the server's
 *      `end` the client expects nothing more and stops checking; a beat that fires far behind
 *      schedule (this side's event loop was blocked) does not judge the peer.
 *    - A frame of unknown kind fails the stream; the peer is told (error frame or cancel).
 *    - `batch`: several data messages in one NATS message, sent only to a side that announced
 *      `Micro-Stream-Batch: 1` on its open or accept. The body holds each message as a 4-byte
 *      big-endian length and its bytes; each counts as one data frame for credit. A sender
 *      batches messages of up to 8 KiB queued in the same event-loop turn, at most 64 KiB a
 *      batch, so a busy stream of small messages costs NATS one message per batch.
 *    - `cancel`: the client gave up (abort signal, `break`, deadline, an error in its input);
 *      the server aborts the handler's signal.
 * 4. **Size.** A data frame larger than the NATS max payload is refused with
 *    `resource_exhausted` before it is sent (no chunking): send large data as many messages.
 *
 * Every request message, even the one of a server-streaming call, travels as a data frame,
 * so a peer without descriptors (the gateway) can stream any method.
 * @module
 */

import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";

/**
 * The part of a NATS connection a stream uses: a `NatsConnection` is one, and so is the
 * in-process bus of the memory transport.
 */
export interface StreamConnection {
  readonly info?: { readonly max_payload: number };
  subscribe(subject: string, options: { callback: (error: Error | null, msg: Msg) => void }): { unsubscribe(): void };
  publish(subject: string, data: Uint8Array, options?: { reply?: string; headers?: MsgHdrs }): void;
  isClosed(): boolean;
}

/** The control frames. */
export type FrameKind = "open" | "end" | "error" | "credit" | "ping" | "cancel" | "batch";

/** Data frames each side buffers unless told otherwise. */
export const defaultWindow = 1024;
/** The largest window a side may ask for. */
export const maxWindow = 65_536;
/**
 * The message window a service announces to a client that announced no byte window (older
 * jetmicro, counting messages only): the old default, so such a client's messages, bounded by
 * nothing but their count, cannot fill more of the service's memory than they used to.
 */
export const legacyWindow = 128;
/**
 * Data bytes each side buffers unless told otherwise: with {@link defaultWindow} it lets small
 * messages run a thousand ahead while a stream of big ones stays within about a MiB per side.
 */
export const defaultWindowBytes = 1024 * 1024;
/** The largest byte window a side may ask for (1 GiB); an accept announcing more is capped to it. */
export const maxWindowBytes = 2 ** 30;
/** Heartbeat interval unless told otherwise (a vanished peer is noticed within ~3 s). */
export const defaultHeartbeatMs = 1000;
/** Bounds of the heartbeat interval a client may ask for. */
export const minHeartbeatMs = 50;
export const maxHeartbeatMs = 60_000;
/** Intervals of silence after which the peer counts as gone. */
export const missedHeartbeats = 3;

/** Per-stream tuning a caller may pass. */
export interface StreamTuning {
  /** Data frames this side buffers (its credit window); default 1024, 1-65536. */
  readonly window?: number;
  /**
   * Data bytes (message payloads) this side buffers beside `window`; default 1 MiB, 1 to
   * 2^30. The peer stops sending when either runs out; one message larger than this still
   * passes when nothing else is in flight, so buffering stays within it plus one message.
   */
  readonly windowBytes?: number;
  /** Heartbeat interval in ms; default 1000. Only the client's value counts. */
  readonly heartbeatMs?: number;
}

/**
 * The byte window a peer announced in `text` (its `Micro-Stream-Window-Bytes`): undefined when
 * it announced none (an older peer, counted in messages only), capped at {@link maxWindowBytes};
 * "invalid" when it is not a positive integer.
 */
export function announcedWindowBytes(text: string | undefined | null): number | undefined | "invalid" {
  if (text === undefined || text === null || text === "") return undefined;
  // Digits only: Number() would also take "0x10", "1e3" and " 12 ".
  if (!/^[0-9]{1,32}$/.test(text)) return "invalid";
  const n = Number(text);
  return n < 1 ? "invalid" : Math.min(n, maxWindowBytes);
}

/** Throws `invalid_argument` unless `value` is an integer in [min, max]: a window or heartbeat either side asked for. */
export function checkedTuning(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MicroError("invalid_argument", `stream ${what} must be an integer from ${min} to ${max}, got ${value}`, { detail: what });
  }
  return value;
}
