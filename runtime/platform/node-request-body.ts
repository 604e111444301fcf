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
  return new Promise<Uint8Array>((resolve, reject) => new BodyRead(incoming, resolve, reject));
}

/**
 * One read of a body: its listeners are bound methods, not closures made per request (under
 * tsx, every named closure also costs a `__name` call to keep its name).
 */
class BodyRead {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #incoming: IncomingMessage;
  readonly #resolve: (bytes: Uint8Array) => void;
  readonly #reject: (error: Error) => void;
  readonly #onData = this.#data.bind(this);
  readonly #onEnd = this.#end.bind(this);
  readonly #onError = this.#error.bind(this);
  readonly #onClose = this.#close.bind(this);

  constructor(incoming: IncomingMessage, resolve: (bytes: Uint8Array) => void, reject: (error: Error) => void) {
    this.#incoming = incoming;
    this.#resolve = resolve;
    this.#reject = reject;
    incoming.on("data", this.#onData);
    incoming.on("end", this.#onEnd);
    incoming.on("error", this.#onError);
    incoming.on("close", this.#onClose);
  }

  #data(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
  }

  #end(): void {
    this.#cleanup();
    this.#resolve(this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks, this.#size));
  }

  #error(error: Error): void {
    this.#cleanup();
    this.#reject(error);
  }

  /** The connection closed before the body ended: the client left mid-request. */
  #close(): void {
    this.#cleanup();
    if (!this.#incoming.complete) this.#reject(new Error("the client closed the connection before the request body ended"));
  }

  #cleanup(): void {
    const incoming = this.#incoming;
    incoming.off("data", this.#onData);
    incoming.off("end", this.#onEnd);
    incoming.off("error", this.#onError);
    incoming.off("close", this.#onClose);
  }
}
