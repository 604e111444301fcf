/**
 * Replies from an actor's owner to the router that persisted the command: the proto binary
 * response, or an error in the protocol's one error codec (as unary replies carry it).
 * @module
 */
import type { Msg } from "@nats-io/nats-core";
import { type Code, isCode } from "../errors/code.ts";
import { MicroError } from "../errors/micro-error.ts";
import { decodeError, isNoResponders } from "../protocol/mod.ts";

/** The error a reply carries, if any (NATS no-responders included). */
export function errorOf(msg: Msg, what: string): MicroError | undefined {
  if (isNoResponders(msg)) return new MicroError("unavailable", `no owner is serving ${what}`);
  return decodeError(msg.headers, msg.data);
}

/** A MicroError from a recorded [code, message]. */
function recordedError(code: string, message: string): MicroError {
  return new MicroError(isCode(code) ? (code as Code) : "unknown", message);
}

/**
 * The answer a key's state kept for an idempotent command ([id, base64 reply, error code,
 * error message, ...], see `StateEntry.recent`): its error, or its reply bytes.
 */
export function keptAnswer(kept: readonly [string, string, string?, string?, ...unknown[]]): { readonly data: Uint8Array } | { readonly error: MicroError } {
  return kept[2] ? { error: recordedError(kept[2], kept[3] ?? kept[2]) } : { data: fromBase64(kept[1]) };
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
