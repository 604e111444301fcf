/**
 * The request body size limit, without reading the body. A declared Content-Length over the
 * limit is a 413 at once; a body of unknown length (chunked) is counted as the route reads it
 * and its read fails with the same 413 error at the chunk that crosses the limit. Unlike
 * Hono's `bodyLimit`, which buffers a chunked body to its end before the route runs, nothing
 * is buffered here: a route that refuses a body early (JSON nested too deep, see
 * `json-body.ts`) answers before the rest of it arrives.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { declaredLength } from "./body-framing.ts";
import { bodyTooLarge } from "./errors.ts";

/** The middleware limiting request bodies to `maxBytes`; see the module comment. */
export function limitBodies(maxBytes: number): MiddlewareHandler {
  return function limitBody(c, next) {
    const raw = c.req.raw;
    if (raw.method === "GET" || raw.method === "HEAD") return next();
    const length = declaredLength(raw.headers);
    if (length !== undefined) {
      // The runtime's HTTP parser reads no more than a declared length.
      if (length > maxBytes) throw bodyTooLarge(maxBytes);
      return next();
    }
    const body = raw.body;
    if (body === null) return next();
    c.req.raw = new Request(raw, { body: counted(body, maxBytes), duplex: "half" } as RequestInit);
    originals.set(c.req.raw, raw);
    return next();
  };
}

/** The requests the HTTP server handed in, by the counted copies {@link limitBodies} made of them. */
const originals = new WeakMap<Request, Request>();

/**
 * The request as the HTTP server handed it in: the runtime knows its connection by that object
 * (Bun's `server.timeout(request, ...)`), not by the copy with a counted body.
 */
export function servedRequest(request: Request): Request {
  return originals.get(request) ?? request;
}

/** `body` passed on chunk by chunk as it is read, failing with a 413 error past `maxBytes`. */
function counted(body: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  const source = body.getReader();
  let size = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await source.read();
      if (done) return controller.close();
      size += value.length;
      if (size > maxBytes) {
        source.cancel().catch(() => {});
        return controller.error(bodyTooLarge(maxBytes));
      }
      controller.enqueue(value);
    },
    cancel: (reason) => source.cancel(reason),
  }, { highWaterMark: 0 });
}
