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
