/**
 * Reading and writing the control frames of {@link ./protocol.ts}. Error frames use the one
 * error codec of `runtime/protocol/`, so a stream fails the way a unary call does.
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import type { MicroError } from "../errors/micro-error.ts";
import { encodeError, frameHeader } from "../protocol/mod.ts";
import type { FrameKind } from "./protocol.ts";

/** Headers of a control frame of `kind`, with `extra` headers. */
export function frameHeaders(kind: FrameKind, extra?: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  h.set(frameHeader, kind);
  if (extra !== undefined) for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/** An `error` frame: `Micro-Frame: error` plus the error as the protocol encodes it. */
export function errorFrame(error: MicroError, serviceId: string | undefined): { headers: MsgHdrs; data: Uint8Array } {
  return encodeError(error, serviceId, frameHeaders("error"));
}

/** A message up to this size travels in a `batch` frame with others when the peer reads them. */
export const maxBatchedMessage = 8 * 1024;
/** The most payload bytes one `batch` frame carries (well under any NATS max payload). */
export const maxBatchBytes = 64 * 1024;

/**
 * The body of a `batch` frame: each message as a 4-byte big-endian length and its bytes, in
 * order. The caller keeps to {@link maxBatchBytes}.
 */
export function batchBody(messages: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const m of messages) size += 4 + m.length;
  const body = new Uint8Array(size);
  const view = new DataView(body.buffer);
  let at = 0;
  for (const m of messages) {
    view.setUint32(at, m.length);
    body.set(m, at + 4);
    at += 4 + m.length;
  }
  return body;
}

/**
 * Splits a `batch` frame's body into its messages (views into `body`, no copy), calling `each`
 * for every one in order; at most `limit` of them, and the messages before the last at most
 * `roomBytes - 1` bytes together (a sender may send while it holds any byte credit, so only the
 * last message may reach past the byte window). Returns "malformed" when the body is malformed
 * (a length past its end, an empty batch), "over" when it holds more than the credit allows:
 * either way the peer broke the protocol or its credit, and nothing is delivered.
 */
export function readBatch(body: Uint8Array, limit: number, roomBytes: number, each: (message: Uint8Array) => void): "ok" | "malformed" | "over" {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  let count = 0;
  let last = 0;
  // Checked before anything is delivered: a bad batch delivers none of its messages.
  while (at < body.length) {
    if (body.length - at < 4) return "malformed";
    const length = view.getUint32(at);
    if (length > body.length - at - 4) return "malformed";
    at += 4 + length;
    last = length;
    count++;
  }
  if (count === 0) return "malformed";
  if (count > limit || body.length - 4 * count - last >= roomBytes) return "over";
  for (at = 0; at < body.length; ) {
    const length = view.getUint32(at);
    each(body.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return "ok";
}
