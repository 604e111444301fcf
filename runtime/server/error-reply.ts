import { headers as natsHeaders, type Msg } from "@nats-io/nats-core";
import { httpStatus } from "../errors/code.ts";
import type { MicroError } from "../errors/micro-error.ts";
import { errorCodeHeader, natsErrorCodeHeader, natsErrorHeader } from "../wire/headers.ts";

const encoder = new TextEncoder();

/**
 * Answers a request with an error: the NATS services headers (`Nats-Service-Error`,
 * `Nats-Service-Error-Code`) that any NATS service client reads, the exact jetmicro code in
 * `Micro-Error-Code`, and the error as JSON in the body. Never a stack trace.
 */
export function respondWithError(msg: Msg, error: MicroError, serviceId: string): void {
  if (!msg.reply) return;
  const message = limitText(oneLine(error.message));
  const headers = natsHeaders();
  headers.set(natsErrorHeader, message);
  headers.set(natsErrorCodeHeader, String(httpStatus(error.code)));
  headers.set(errorCodeHeader, error.code);
  const json = error.toJSON();
  const body = { ...json, message, ...(json.detail === undefined ? {} : { detail: limitText(json.detail) }), serviceId: error.serviceId ?? serviceId };
  msg.respond(encoder.encode(JSON.stringify(body)), { headers });
}

/** Longest error text sent or kept in stats: a message must never outgrow a NATS payload. */
export const maxErrorText = 1024;

/** `text` cut to {@link maxErrorText} characters, marked when cut. */
export function limitText(text: string): string {
  return text.length <= maxErrorText ? text : `${text.slice(0, maxErrorText - 14)}… (truncated)`;
}

// Header values cannot hold line breaks; messages from thrown errors sometimes do.
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, " ");
}
