/**
 * The Connect streaming protocol (connectrpc.com) for server-streaming and client-streaming
 * methods, so a `@connectrpc/connect` client streams through the gateway unchanged.
 *
 * `POST /{package.Service}/{Method}` with `application/connect+json` or
 * `application/connect+proto`. Request and response bodies are envelopes: one flags byte and a
 * 4-byte big-endian length before each message. The response is always HTTP 200; its last
 * envelope has flag `0x02` and holds `{}` or `{"error": {"code", "message"}}`. The gateway
 * reads the service's stream only as fast as the HTTP client reads the response, so credit
 * flow control reaches from the browser to the handler. Compressed envelopes are refused.
 * @module
 */
import type { Context } from "hono";
import { MicroError } from "../runtime/mod.ts";
import { httpStatus, jsonContentType, protoContentType, requestHeaders, wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { AuthTarget } from "./auth.ts";
import { timeoutMsOf } from "./edge-bounds.ts";
import { connectTimeoutHeader } from "./http-headers.ts";
import { readBody } from "./json-body.ts";
import type { GatewayDeps, TargetContext } from "./part.ts";
import { routedOpen } from "../runtime/client/routed-open.ts";
import type { StreamChannel } from "../runtime/stream/channel.ts";
import { assertNoRoute } from "./call.ts";
import { routeOptionsOf } from "./route-options.ts";

/** A Connect call: its target (endpoint `Greeter.SayHello` for the rules), the NATS subject and its label. */
export interface ConnectCall extends AuthTarget {
  /** `greeter.v1.Greeter/SayHello`. */
  readonly label: string;
  readonly subject: string;
}

const endStreamFlag = 0x02;
const compressedFlag = 0x01;
const encoder = new TextEncoder();
const streamTypes = new Set(["application/connect+json", "application/connect+proto"]);

function contentTypeOf(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0]!.trim();
}

/** True when the request is a Connect stream (`application/connect+json` or `+proto`). */
export function isConnectStream(c: Context): boolean {
  return streamTypes.has(contentTypeOf(c));
}

/**
 * The answer to a stream refused before it opened: a bad name is a plain HTTP 400 (Connect
 * clients read the status), anything else the end-of-stream message Connect streams end with.
 */
export function connectStreamError(c: Context, error: unknown): Response {
  const e = MicroError.from(error);
  if (e.code === "invalid_argument") {
    return new Response(JSON.stringify({ code: e.code, message: e.message }), { status: httpStatus(e.code), headers: { "content-type": "application/json" } });
  }
  return endOnly(contentTypeOf(c), connectView(e));
}

/** Serves one Connect stream to the target `authorize` set; errors end the stream. */
export async function serveConnectStream(c: TargetContext<ConnectCall>, deps: GatewayDeps): Promise<Response> {
  const contentType = contentTypeOf(c);
  try {
    return await serve(c, deps, contentType);
  } catch (error) {
    return endOnly(contentType, connectView(error));
  }
}

async function serve(c: TargetContext<ConnectCall>, deps: GatewayDeps, contentType: string): Promise<Response> {
  const { subject, label } = c.var.target;
  if (deps.transport.openStream === undefined) throw new MicroError("unimplemented", "the gateway's transport cannot stream");
  const timeoutText = c.req.header(connectTimeoutHeader);
  // A stream has no gateway time limit unless the client asks for one.
  const timeout = timeoutText === undefined ? undefined : timeoutMsOf(timeoutText, "Connect-Timeout-Ms");
  const messages = readEnvelopes(await readBody(c.req.raw));
  const deadline = timeout === undefined ? undefined : Date.now() + timeout;
  const json = contentType === "application/connect+json";
  const h = requestHeaders({ contentType: json ? jsonContentType : protoContentType, metadata: c.var.metadata, trace: c.var.trace, ...(timeout === undefined ? {} : { timeoutMs: timeout }) });
  const open = deps.transport.openStream.bind(deps.transport);
  const request = { headers: h, label, deadline, openBy: Math.min(deadline ?? Infinity, Date.now() + deps.timeoutMs) };
  const route = routeOptionsOf((name) => c.req.header(name));
  const { namespace, service } = c.var.target;
  // Routed as every gateway call is: weights, version, labels and key hold for streams too.
  const opened = deps.discovery !== undefined
    ? routedOpen(deps.discovery, open, { namespace, service, endpoint: label, queueSubject: subject }, route, request)
    : (assertNoRoute(route), open({ ...request, subject }));
  const channel = await opened.catch((error) => {
    // As for Connect unary: a service nobody serves is "unimplemented".
    throw wasNotDelivered(error) ? new MicroError("unimplemented", `no service serves ${label}`) : error;
  });
  // The request's signal aborts when the HTTP client goes away (Bun, Deno, Node adapters).
  const signal = c.req.raw.signal;
  const onAbort = () => channel.fail(new MicroError("canceled", `the HTTP client left the stream ${label}`), "cancel");
  signal.addEventListener("abort", onAbort, { once: true });
  channel.onRelease(() => signal.removeEventListener("abort", onAbort));
  // Sent while the response is read, not before: a service that answers before it has read
  // every request (a bidi echo, a server stream sent more than one) stops reading once its
  // answers fill the gateway's window, and a gateway waiting for its credit would wait for ever.
  void sendRequests(channel, messages);
  const body = new ReadableStream<Uint8Array>({
    // Pull, not push: the next message is read from the service only when the HTTP client wants it.
    async pull(controller) {
      try {
        const data = channel.readNow() ?? (await channel.read());
        if (data !== undefined) return controller.enqueue(envelope(0, data));
        controller.enqueue(envelope(endStreamFlag, encoder.encode("{}")));
      } catch (error) {
        controller.enqueue(envelope(endStreamFlag, encoder.encode(JSON.stringify({ error: connectView(error) }))));
      }
      channel.close();
      controller.close();
    },
    cancel: onAbort,
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200, headers: { "content-type": contentType } });
}

/** Sends the request's messages as the service grants credit, then ends the client's side; a failure fails the stream. */
async function sendRequests(channel: StreamChannel, messages: readonly Uint8Array[]): Promise<void> {
  try {
    for (const message of messages) if (!channel.sendNow(message) && !(await channel.send(message))) break;
    channel.end();
  } catch (error) {
    channel.fail(MicroError.from(error), "cancel");
  }
}

/** The messages of a Connect request body. */
export function readEnvelopes(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) throw new MicroError("invalid_argument", `truncated Connect envelope at byte ${at}`);
    const flags = body[at]!;
    const length = view.getUint32(at + 1);
    // A client sends data envelopes only (end-stream, 0x02, is the server's); any other bit
    // means the bytes are not an envelope: most often the envelope before lied about its length.
    if ((flags & ~compressedFlag) !== 0) {
      throw new MicroError("invalid_argument", `the Connect envelope at byte ${at} has flags 0x${flags.toString(16).padStart(2, "0")}: a request envelope has 0 (or 1, compressed); does the length of the one before match its data?`);
    }
    if (flags & compressedFlag) throw new MicroError("unimplemented", "compressed Connect messages are not supported (send them uncompressed)");
    if (at + 5 + length > body.length) throw new MicroError("invalid_argument", `a Connect envelope claims ${length} bytes, but only ${body.length - at - 5} follow`);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

function envelope(flags: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

function connectView(error: unknown): { code: string; message: string } {
  const e = MicroError.from(error);
  return { code: e.code, message: e.message };
}

function endOnly(contentType: string, error: { code: string; message: string }): Response {
  return new Response(envelope(endStreamFlag, encoder.encode(JSON.stringify({ error }))) as Uint8Array<ArrayBuffer>, {
    status: 200,
    headers: { "content-type": contentType },
  });
}
