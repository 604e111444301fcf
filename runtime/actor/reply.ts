/**
 * Replies from an actor's owner to the router that persisted the command: the proto binary
 * response, or the error in the NATS services headers.
 * @module
 */
import { headers as natsHeaders, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { type Code, httpStatus, isCode } from "../errors/code.ts";
import { MicroError } from "../errors/micro-error.ts";
import { errorCodeHeader, natsErrorCodeHeader, natsErrorHeader } from "../wire/headers.ts";

/** Headers of an error reply. */
export function errorHeaders(error: MicroError): MsgHdrs {
  const headers = natsHeaders();
  headers.set(natsErrorHeader, error.message.replace(/[\r\n]+/g, " ").slice(0, 1024));
  headers.set(natsErrorCodeHeader, String(httpStatus(error.code)));
  headers.set(errorCodeHeader, error.code);
  if (error.detail !== undefined) headers.set("Micro-Error-Detail", error.detail.slice(0, 256));
  if (error.serviceId !== undefined) headers.set("Micro-Error-Service", error.serviceId);
  return headers;
}

/** The error a reply carries, if any (NATS no-responders included). */
export function errorOf(msg: Msg, what: string): MicroError | undefined {
  const headers = msg.headers;
  if (headers === undefined) return undefined;
  if (headers.code === 503 && msg.data.length === 0) return new MicroError("unavailable", `no owner is serving ${what}`);
  const code = headers.get(errorCodeHeader);
  if (!code) return undefined;
  return new MicroError(isCode(code) ? code : "unknown", headers.get(natsErrorHeader) || code, {
    detail: headers.get("Micro-Error-Detail") || undefined,
    serviceId: headers.get("Micro-Error-Service") || undefined,
  });
}

/** A MicroError from a recorded [code, message]. */
export function recordedError(code: string, message: string): MicroError {
  return new MicroError(isCode(code) ? (code as Code) : "unknown", message);
}
