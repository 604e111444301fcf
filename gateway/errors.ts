import { httpStatus, MicroError } from "../runtime/mod.ts";

/**
 * The one place errors become HTTP: status from the code (`httpStatus`), and a JSON body
 * `{id, code, detail, status}` where `id` is the request id, as go-micro's errors.
 */
export function errorResponse(error: unknown, requestId: string): Response {
  const e = MicroError.from(error);
  const status = httpStatus(e.code) === 499 ? 400 : httpStatus(e.code);
  const body = { id: requestId, code: e.code, detail: e.message, status: statusText(status) };
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "x-request-id": requestId } });
}

function statusText(status: number): string {
  return { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable", 504: "Gateway Timeout" }[status] ?? String(status);
}
