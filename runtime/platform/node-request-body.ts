/**
 * A small request body read straight from Node's `IncomingMessage`, skipping the Web
 * `Request` that `@hono/node-server` would otherwise build for it: asking its lightweight
 * request for `arrayBuffer()` makes a full undici `Request`, an `AbortController`, and two
 * `ReadableStream`s over the socket (one pulling the other), which on Node costs more than
 * the rest of a gateway call together. Bun and Deno never register a request here, so there
 * callers read the `Request` as usual.
 *
 * `serveHttp` registers each Node request with its `IncomingMessage`; {@link readNodeBody}
 * reads it once. A request replaced on the way (the body limit wraps a chunked body in a new
 * `Request`) is not registered, so it is read through its own body, with its checks.
 * @module
 */
import type { IncomingMessage } from "node:http";

const incomingOf = new WeakMap<Request, IncomingMessage>();

/** Called by `serveHttp` on Node: `request`'s body may be read from `incoming` directly. */
export function registerNodeRequest(request: Request, incoming: IncomingMessage): void {
  incomingOf.set(request, incoming);
}

/**
 * The whole body of `request` as bytes, read from its `IncomingMessage` when `serveHttp`
 * served it on Node and nothing has read it yet; `undefined` otherwise (read the `Request`).
 * Only for bodies whose length the caller has bounded (a declared, checked Content-Length):
 * the bytes are gathered in memory. Rejects when the client goes away before the end.
 */
export function readNodeBody(request: Request): Promise<Uint8Array> | undefined {
  const incoming = incomingOf.get(request);
  if (incoming === undefined) return undefined;
  incomingOf.delete(request);
  // Read already (through the Request's stream, or by another reader): not ours to take.
  if (incoming.readableDidRead || incoming.readableEnded || incoming.destroyed) return undefined;
  return new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    // The connection closed before the body ended: the client left mid-request.
    const onClose = () => {
      cleanup();
      if (!incoming.complete) reject(new Error("the client closed the connection before the request body ended"));
    };
    const cleanup = () => {
      incoming.off("data", onData);
      incoming.off("end", onEnd);
      incoming.off("error", onError);
      incoming.off("close", onClose);
    };
    incoming.on("data", onData);
    incoming.on("end", onEnd);
    incoming.on("error", onError);
    incoming.on("close", onClose);
  });
}
