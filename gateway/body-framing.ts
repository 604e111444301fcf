/**
 * The one reader of a request's body framing (`Content-Length`, `Transfer-Encoding`): the edge
 * refuses framing a proxy and the gateway could read differently ({@link assertFraming}), and
 * the body limit, the content-type check, the body reader and the error answer ask here how
 * long a body says it is, and the time limit whether a body stopped arriving.
 * @module
 */
import { HTTPException } from "hono/http-exception";
import { MicroError } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";

/**
 * Refuses ambiguous framing: several different Content-Length values (which a proxy in front
 * and the gateway might pick differently), or one that is not a plain number.
 */
export function assertFraming(headers: Headers): void {
  const length = headers.get("content-length");
  if (length === null) return;
  const values = new Set(length.split(",").map((v) => v.trim()));
  if (values.size !== 1) throw new MicroError("invalid_argument", `ambiguous request framing: Content-Length "${shown(length)}" has different values`, { detail: "content-length" });
  if (!/^[0-9]{1,15}$/.test([...values][0]!)) throw new MicroError("invalid_argument", `Content-Length "${shown(length)}" is not a number of bytes`, { detail: "content-length" });
}

/**
 * The body length a request declares: its Content-Length, or undefined when it has none, its
 * body is chunked (Transfer-Encoding wins over Content-Length) or the value is not a plain
 * number (which {@link assertFraming} refuses at the edge).
 */
export function declaredLength(headers: Headers): number | undefined {
  const length = headers.get("content-length");
  if (length === null || headers.has("transfer-encoding")) return undefined;
  const bytes = Number(length);
  return Number.isSafeInteger(bytes) && bytes >= 0 && length.trim() !== "" ? bytes : undefined;
}

/** Whether a request says it has a body: chunked, or a Content-Length other than 0. */
export function hasBody(headers: Headers): boolean {
  return headers.has("transfer-encoding") || (headers.get("content-length") !== null && declaredLength(headers) !== 0);
}

/**
 * Whether a route's read of each request's body has ended: false from {@link bodyReading} to
 * {@link bodyArrived}. Kept here rather than read off `Request.bodyUsed`, which a read
 * straight from Node's socket (`node-request-body.ts`) never sets.
 */
const reads = new WeakMap<Request, boolean>();

/** Records that a route begins reading `request`'s body (`readBody` in `json-body.ts`, the reader of every route, calls this first). */
export function bodyReading(request: Request): void {
  reads.set(request, false);
}

/** Records that a route has read `request`'s body to its end. */
export function bodyArrived(request: Request): void {
  reads.set(request, true);
}

/**
 * Whether a route began reading `request`'s body and its end has not come: a client that
 * stopped sending half way (the time limit then answers 408, the client's doing, not 504).
 */
export function bodyStillArriving(request: Request): boolean {
  return reads.get(request) === false;
}

/** The answer to a request whose body did not arrive within `ms`: 408, the client's doing (its connection is closed, `errors.ts`). */
export function bodyStalled(ms: number): HTTPException {
  return new HTTPException(408, { message: `the request body did not arrive within ${ms} ms` });
}
