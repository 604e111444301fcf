/**
 * The one error codec. Unary replies, stream `error` frames and actor replies carry an error
 * the same way: the NATS services headers that any NATS service client reads
 * (`Nats-Service-Error`, `Nats-Service-Error-Code`), the exact jetmicro code in
 * `Micro-Error-Code`, and `{code, message, detail?, serviceId?}` as the JSON body. Never a
 * stack trace. No-responders (NATS's 503 status on an empty reply) is recognised here too.
 * @module
 */
import { headers as natsHeaders, type Msg, type MsgHdrs } from "@nats-io/nats-core";
import { isCode } from "../errors/code.ts";
import { MicroError } from "../errors/micro-error.ts";
import { errorCodeHeader, natsErrorCodeHeader, natsErrorHeader } from "./headers.ts";
import { maxErrorDetail, maxErrorText } from "./limits.ts";
import { codeFromHttpStatus, httpStatus } from "./status.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `text` cut to `max` characters (default {@link maxErrorText}), marked when cut. */
export function limitText(text: string, max = maxErrorText): string {
  return text.length <= max ? text : `${text.slice(0, max - 14)}… (truncated)`;
}

// Header values cannot hold line breaks; messages from thrown errors sometimes do.
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}

/** An error as headers and JSON body, ready to publish; `into` gets the headers when given. */
export function encodeError(error: MicroError, serviceId?: string, into: MsgHdrs = natsHeaders()): { headers: MsgHdrs; data: Uint8Array } {
  const message = limitText(oneLine(error.message));
  into.set(natsErrorHeader, message);
  into.set(natsErrorCodeHeader, String(httpStatus(error.code)));
  into.set(errorCodeHeader, error.code);
  const body: { code: string; message: string; detail?: string; serviceId?: string } = { code: error.code, message };
  if (error.detail !== undefined) body.detail = limitText(error.detail, maxErrorDetail);
  const sid = error.serviceId ?? serviceId;
  if (sid !== undefined) body.serviceId = sid;
  return { headers: into, data: encoder.encode(JSON.stringify(body)) };
}

/** Answers a request with an error (nothing when it has no reply subject). */
export function respondWithError(msg: Msg, error: MicroError, serviceId?: string): void {
  if (!msg.reply) return;
  const { headers, data } = encodeError(error, serviceId);
  msg.respond(data, { headers });
}

/**
 * The error a reply, error frame or actor reply carries, or undefined when it carries none.
 * Replies from NATS services in other languages (a status number, any body) are understood.
 */
export function decodeError(headers: MsgHdrs | undefined, data: Uint8Array): MicroError | undefined {
  if (headers === undefined) return undefined;
  const named = headers.get(errorCodeHeader);
  const status = headers.get(natsErrorCodeHeader);
  if (!status && !named) return undefined;
  const code = isCode(named) ? named : codeFromHttpStatus(Number(status));
  let body: { detail?: unknown; serviceId?: unknown } = {};
  try {
    if (data.length > 0 && data.length <= 64 * 1024) body = JSON.parse(decoder.decode(data));
  } catch {
    // Another implementation may send any body with its error; the headers suffice.
  }
  return new MicroError(code, headers.get(natsErrorHeader) || code, {
    detail: typeof body?.detail === "string" ? body.detail : undefined,
    serviceId: typeof body?.serviceId === "string" ? body.serviceId : undefined,
  });
}

// ---- No responders -----------------------------------------------------------------------

/** Status NATS sends on the reply subject when no subscriber exists for a request. */
const noRespondersStatus = 503;

/** Metadata `reason` of the error given when nothing received a request. */
export const notDeliveredReason = "no_responders";

/** True when `msg` is NATS's no-responders status: nobody received the request. */
export function isNoResponders(msg: Msg): boolean {
  return msg.data.length === 0 && msg.headers?.code === noRespondersStatus;
}

/** The `unavailable` error for a request to `subject` that nobody received. */
export function notDelivered(subject: string, what = `no service is serving ${subject}`): MicroError {
  return new MicroError("unavailable", what, { detail: subject, metadata: { reason: notDeliveredReason } });
}

/**
 * True when a request was never delivered (nobody serves its subject): safe to retry on
 * another node, since no handler can have run.
 */
export function wasNotDelivered(error: unknown): boolean {
  return (error as { metadata?: { reason?: string } })?.metadata?.reason === notDeliveredReason;
}

/** The error of a reply message: no-responders, or a service error in its headers. */
export function replyError(msg: Msg, subject: string): MicroError | undefined {
  if (msg.headers === undefined) return undefined;
  if (isNoResponders(msg)) return notDelivered(subject);
  return decodeError(msg.headers, msg.data);
}
