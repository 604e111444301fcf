import { HTTPException } from "hono/http-exception";
import { MicroError } from "../runtime/mod.ts";
import { codeFromHttpStatus, httpStatus } from "../runtime/protocol/mod.ts";
import { unsupportedMediaTypeReason } from "./content-type.ts";

/** Metadata `reason` of the error for a body over the limit: 413 rather than its code's 429. */
const bodyTooLargeReason = "body_too_large";

/** The error for a request body over `limit` bytes. */
export function bodyTooLarge(limit: number): MicroError {
  return new MicroError("resource_exhausted", `request body too large: the limit is ${limit} bytes`, { detail: String(limit), metadata: { reason: bodyTooLargeReason } });
}

/**
 * The body-limit error ({@link bodyTooLarge}) when `error` is one or was caused by one (a
 * `fetch` that streamed a counted body on reports it as its cause), else undefined: a body
 * refused for its size stays a 413 wherever its read failed.
 */
export function bodyTooLargeIn(error: unknown): MicroError | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof MicroError && e.metadata.reason === bodyTooLargeReason) return e;
  }
  return undefined;
}

/**
 * The one place errors become HTTP: status from the code (`httpStatus`), and a JSON body
 * `{id, code, detail, status}` where `id` is the request id, as go-micro's errors. Hono's
 * own `HTTPException`s (from its middleware) keep their status.
 *
 * Given the `request` refused, the answer closes the connection when the rest of its body
 * could be long: a 413 (its body is not read, and a runtime would otherwise read and drop
 * the whole declared length, or a chunked body that never ends, to reuse the connection),
 * a 408 (the body stopped arriving), or any refusal of a chunked body. Every other refusal
 * keeps the connection, so a client refused for a bad header or a body nested too deep (at
 * most the body limit, drained by the runtime) sends its next request without a new TCP
 * handshake.
 */
export function errorResponse(error: unknown, requestId: string, request?: Request): Response {
  const e = error instanceof HTTPException ? new MicroError(codeFromHttpStatus(error.status), error.message || statusText(error.status)) : MicroError.from(error);
  const kept = error instanceof HTTPException && error.status >= 400 && error.status < 500 ? error.status : undefined;
  const status = kept !== undefined ? kept : e.metadata.reason === bodyTooLargeReason ? 413 : e.metadata.reason === unsupportedMediaTypeReason ? 415 : httpStatus(e.code) === 499 ? 400 : httpStatus(e.code);
  const body = { id: requestId, code: e.code, detail: e.message, status: statusText(status) };
  const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId };
  if (request !== undefined && (status === 413 || status === 408 || (request.body !== null && request.headers.has("transfer-encoding")))) headers.connection = "close";
  return new Response(JSON.stringify(body), { status, headers });
}

// Built once: every refused request is answered through here.
const statusTexts: Readonly<Record<number, string>> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large", 415: "Unsupported Media Type", 421: "Misdirected Request", 431: "Request Header Fields Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout" };

function statusText(status: number): string {
  return statusTexts[status] ?? String(status);
}
