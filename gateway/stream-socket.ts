/**
 * Streams over a WebSocket, for browsers and any method kind (bidi above all):
 * `GET /ws/{service}/{Endpoint}` (e.g. `/ws/counter/Counter.Echo`) upgrades, then both sides
 * exchange JSON text frames. Messages are protobuf JSON.
 *
 * - client → gateway: `{"message": {...}}` per request, `{"end": true}` to end its side.
 *   Closing the socket cancels the stream (the handler's signal fires).
 * - gateway → client: `{"message": {...}}` per response, then `{"end": true}` or
 *   `{"error": {"code", "message", "detail"?}}`, then the gateway closes the socket (1000).
 *
 * Bounds: a WebSocket cannot be paused by the reader, so requests the service has no credit
 * for wait in a queue of at most {@link maxQueued} messages and {@link maxQueuedBytes} bytes
 * (plus one message); past that the stream fails with `resource_exhausted`. Towards the
 * client the gateway stops reading from the service while the socket holds more than
 * {@link maxSocketBuffer} unsent bytes, so a slow browser slows the handler through the
 * stream's credit.
 * @module
 */
import { Hono } from "hono";
import type { WSContext } from "hono/ws";
import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError, type Transport } from "../runtime/mod.ts";
import { callSubject, jsonContentType, requestHeaders, wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { StreamChannel } from "../runtime/stream/channel.ts";
import type { AuthTarget } from "./auth.ts";
import { parseJson, strictUtf8, stringifyJson } from "./json-body.ts";
import type { GatewayEnv, GatewayPart } from "./part.ts";
import { routedOpen } from "../runtime/client/routed-open.ts";
import type { RouteOptions } from "../runtime/client/routed-request.ts";
import type { Discovery } from "../runtime/mod.ts";
import { assertNoRoute } from "./call.ts";
import { routeOptionsOf } from "./route-options.ts";
import { bufferedAmount } from "./socket-buffer.ts";

/** Requests held while the service has no credit for them. */
export const maxQueued = 256;
/**
 * Bytes of requests held while the service has no credit for them: a frame is queued while the
 * queue holds less, so a socket holds at most this plus one frame (the WebSocket's largest).
 */
export const maxQueuedBytes = 1024 * 1024;
/** Unsent bytes a socket may hold before the gateway stops reading the stream. */
export const maxSocketBuffer = 1024 * 1024;

/** What one socket's stream needs from the gateway. */
interface SocketOptions {
  readonly transport: Transport;
  /** How long the service may take to accept a stream, in ms. */
  readonly openTimeoutMs: number;
  /** Node selection (with a registry). */
  readonly discovery?: Discovery;
}

/** A stream's target and its NATS subject. */
interface StreamCall extends AuthTarget {
  readonly subject: string;
  /** Which nodes may serve it (`X-Micro-Version`, `-Key`, `-Labels` on the upgrade request). */
  readonly route: RouteOptions;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `GET /ws/:service/:endpoint` (with the platform's WebSockets); a plain GET (no upgrade) gets 426. */
export const streamSocketPart: GatewayPart = (deps) => {
  const upgradeWebSocket = deps.upgradeWebSocket;
  if (upgradeWebSocket === undefined) return undefined;
  const options: SocketOptions = { transport: deps.transport, openTimeoutMs: deps.timeoutMs, ...(deps.discovery !== undefined ? { discovery: deps.discovery } : {}) };
  const streamCall = (c: { req: { param(name: string): string | undefined; header(name: string): string | undefined } }): StreamCall => {
    const target = { namespace: deps.namespace, service: c.req.param("service")!, endpoint: c.req.param("endpoint")! };
    return { ...target, subject: callSubject(target), route: routeOptionsOf((name) => c.req.header(name)) };
  };
  // Authorisation, names and metadata are all checked before the upgrade: a refusal is a plain HTTP answer.
  const headersOf = new WeakMap<Request, MsgHdrs>();
  return new Hono<GatewayEnv>().get(
    "/ws/:service{[A-Za-z0-9_-]+}/:endpoint{[A-Za-z0-9_]+\\.[A-Za-z0-9_]+}",
    deps.authorize(streamCall),
    (c, next) => {
      headersOf.set(c.req.raw, requestHeaders({ contentType: jsonContentType, metadata: c.var.metadata, trace: c.var.trace }));
      return next();
    },
    upgradeWebSocket((c) => {
      const call = (c as unknown as { var: { target: StreamCall } }).var.target;
      const session = new SocketStream(options, call, headersOf.get(c.req.raw)!);
      return {
        onOpen: (_event, ws) => void session.open(ws),
        onMessage: (event, ws) => session.receive(event.data, ws),
        onClose: () => session.cancel("the WebSocket closed"),
        onError: () => session.cancel("the WebSocket failed"),
      };
    }),
    (c) => c.json({ code: "failed_precondition", detail: "this route streams over a WebSocket: send an Upgrade request" }, 426),
  );
};

/** One WebSocket and the stream it carries. */
class SocketStream {
  readonly #options: SocketOptions;
  readonly #service: string;
  readonly #endpoint: string;
  readonly #queue: Uint8Array[] = [];
  /** Bytes of {@link #queue}. */
  #queuedBytes = 0;
  #channel: StreamChannel | undefined;
  #ended = false;
  #done = false;
  #wakePump: (() => void) | undefined;

  readonly #subject: string;
  readonly #headers: MsgHdrs;
  readonly #namespace: string;
  readonly #route: RouteOptions;

  constructor(options: SocketOptions, call: StreamCall, headers: MsgHdrs) {
    this.#options = options;
    this.#subject = call.subject;
    this.#namespace = call.namespace;
    this.#route = call.route;
    this.#headers = headers;
    this.#service = call.service;
    this.#endpoint = call.endpoint;
  }

  async open(ws: WSContext): Promise<void> {
    const { transport } = this.#options;
    try {
      if (transport.openStream === undefined) throw new MicroError("unimplemented", "the gateway's transport cannot stream");
      const open = transport.openStream.bind(transport);
      const request = { headers: this.#headers, label: this.#endpoint, openBy: Date.now() + this.#options.openTimeoutMs };
      const { discovery } = this.#options;
      // Routed as every gateway call is: weights, version, labels and key hold for sockets too.
      this.#channel = discovery !== undefined
        ? await routedOpen(discovery, open, { namespace: this.#namespace, service: this.#service, endpoint: this.#endpoint, queueSubject: this.#subject }, this.#route, request)
        : (assertNoRoute(this.#route), await open({ ...request, subject: this.#subject }));
    } catch (error) {
      const e = wasNotDelivered(error) ? new MicroError("not_found", `no service ${this.#service} serves ${this.#endpoint}`) : MicroError.from(error);
      return this.#finish(ws, e);
    }
    if (this.#done) return this.#channel.fail(new MicroError("canceled", "the WebSocket closed"), "cancel");
    void this.#pump();
    await this.#forward(ws);
  }

  /** A frame from the browser: queued for the pump, which waits for the service's credit. */
  receive(data: unknown, ws: WSContext): void {
    if (this.#done) return;
    let frame: { message?: unknown; end?: unknown };
    let message: Uint8Array | undefined;
    try {
      // Bounded like every JSON body: a frame too deep to parse or write again fails the stream with a 400 frame.
      const text = typeof data === "string" ? data : strictUtf8(new Uint8Array(data as ArrayBuffer), "the WebSocket frame");
      frame = parseJson(text, "the WebSocket frame") as typeof frame;
      if (typeof frame !== "object" || frame === null || Array.isArray(frame)) throw new MicroError("invalid_argument", "not an object");
      if (typeof frame.message === "object" && frame.message !== null) message = encoder.encode(stringifyJson(frame.message, "the message"));
    } catch (error) {
      // Too deep or not UTF-8 is said; plain bad JSON needs no more than the rule.
      const why = error instanceof MicroError && /nested|UTF-8|cannot be written/.test(error.message) ? ` (${error.message})` : "";
      return this.#fail(ws, new MicroError("invalid_argument", `WebSocket frames must be JSON: {"message": {...}} or {"end": true}${why}`));
    }
    if (message !== undefined) {
      if (this.#ended) return this.#fail(ws, new MicroError("invalid_argument", "a message after {\"end\": true}"));
      if (this.#queue.length >= maxQueued) {
        return this.#fail(ws, new MicroError("resource_exhausted", `more than ${maxQueued} requests are waiting for ${this.#endpoint}; wait for answers before sending more`));
      }
      // Bounded in bytes too: 256 frames of the WebSocket's largest size would be gigabytes.
      if (this.#queuedBytes >= maxQueuedBytes) {
        return this.#fail(ws, new MicroError("resource_exhausted", `more than ${maxQueuedBytes} bytes of requests are waiting for ${this.#endpoint}; wait for answers before sending more`));
      }
      this.#queue.push(message);
      this.#queuedBytes += message.length;
    } else if (frame.end !== true) return this.#fail(ws, new MicroError("invalid_argument", `a WebSocket frame needs "message" (an object) or "end": true`));
    // A frame with both is its last message: the message is sent before the end.
    if (frame.end === true) this.#ended = true;
    this.#wakePump?.();
  }

  cancel(reason: string): void {
    this.#done = true;
    this.#channel?.fail(new MicroError("canceled", reason), "cancel");
    this.#wakePump?.();
  }

  /** Sends queued requests as the service grants credit; ends the client's side after `end`. */
  async #pump(): Promise<void> {
    const channel = this.#channel!;
    try {
      for (;;) {
        const next = this.#queue.shift();
        if (next !== undefined) {
          this.#queuedBytes -= next.length;
          if (!channel.sendNow(next) && !(await channel.send(next))) return;
          continue;
        }
        if (this.#ended) return channel.end();
        if (this.#done || channel.failure !== undefined) return;
        await new Promise<void>((resolve) => (this.#wakePump = resolve));
        this.#wakePump = undefined;
      }
    } catch (error) {
      channel.fail(MicroError.from(error), "cancel");
    }
  }

  /** Sends the service's messages to the browser while its socket keeps up. */
  async #forward(ws: WSContext): Promise<void> {
    const channel = this.#channel!;
    try {
      for (;;) {
        while (bufferedAmount(ws) > maxSocketBuffer && !this.#done) await new Promise((resolve) => setTimeout(resolve, 5));
        const data = channel.readNow() ?? (await channel.read());
        if (data === undefined) break;
        if (this.#done) return;
        ws.send(`{"message":${decoder.decode(data)}}`);
      }
      channel.close();
      this.#finish(ws, undefined);
    } catch (error) {
      this.#finish(ws, MicroError.from(error));
    }
  }

  #fail(ws: WSContext, error: MicroError): void {
    this.#channel?.fail(error, "cancel");
    if (this.#channel === undefined) this.#finish(ws, error);
  }

  #finish(ws: WSContext, error: MicroError | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#wakePump?.();
    try {
      const json = error === undefined ? { end: true } : { error: { code: error.code, message: error.message, ...(error.detail === undefined ? {} : { detail: error.detail }) } };
      ws.send(JSON.stringify(json));
      ws.close(1000, error === undefined ? "end" : "error");
    } catch {
      // The browser is gone already.
    }
  }
}
