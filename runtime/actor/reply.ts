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
export function recordedError(code: string, message: string): MicroError {
  return new MicroError(isCode(code) ? (code as Code) : "unknown", message);
}
