/**
 * Reading and writing the control frames of {@link ./protocol.ts}.
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { codeFromHttpStatus, httpStatus, isCode } from "../errors/code.ts";
import { MicroError } from "../errors/micro-error.ts";
import { limitText } from "../server/error-reply.ts";
import { errorCodeHeader, natsErrorCodeHeader, natsErrorHeader } from "../wire/headers.ts";
import { frameHeader, type FrameKind } from "./protocol.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Headers of a control frame of `kind`, with `extra` headers. */
export function frameHeaders(kind: FrameKind, extra?: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  h.set(frameHeader, kind);
  if (extra !== undefined) for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/** An `error` frame: the unary error headers plus `Micro-Frame: error`, the error as JSON body. */
export function errorFrame(error: MicroError, serviceId: string | undefined): { headers: MsgHdrs; data: Uint8Array } {
  const message = limitText(error.message.replace(/[\r\n]+/g, " "));
  const headers = frameHeaders("error", {
    [natsErrorHeader]: message,
    [natsErrorCodeHeader]: String(httpStatus(error.code)),
    [errorCodeHeader]: error.code,
  });
  const json = error.toJSON();
  const sid = error.serviceId ?? serviceId;
  const body = { ...json, message, ...(json.detail === undefined ? {} : { detail: limitText(json.detail) }), ...(sid === undefined ? {} : { serviceId: sid }) };
  return { headers, data: encoder.encode(JSON.stringify(body)) };
}

/** The error carried by an error frame or an error reply, or undefined when there is none. */
export function errorOf(headers: MsgHdrs, data: Uint8Array): MicroError | undefined {
  const status = headers.get(natsErrorCodeHeader);
  if (!status) return undefined;
  const named = headers.get(errorCodeHeader);
  const code = isCode(named) ? named : codeFromHttpStatus(Number(status));
  let body: { detail?: unknown; serviceId?: unknown } = {};
  try {
    if (data.length > 0) body = JSON.parse(decoder.decode(data));
  } catch {
    // Another implementation may send any body with its error; the headers suffice.
  }
  return new MicroError(code, headers.get(natsErrorHeader) || code, {
    detail: typeof body.detail === "string" ? body.detail : undefined,
    serviceId: typeof body.serviceId === "string" ? body.serviceId : undefined,
  });
}
