/**
 * A server-streaming endpoint on its path route (`POST /counter/count`) over plain HTTP: the
 * body is the one request message, the responses stream back as Server-Sent Events
 * (`Accept: text/event-stream`) or newline-delimited JSON (anything else), so `curl -N` and
 * `EventSource`-style readers work without Connect or WebSockets. The service's stream is
 * read only as fast as the HTTP client reads, so credit flow control reaches the handler; a
 * failure after the first message ends the stream with an `error` event (SSE) or an
 * `{"error": {...}}` line (NDJSON), since the status was already sent.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { callSubject, jsonContentType, requestHeaders, type TraceContext, wasNotDelivered } from "../runtime/protocol/mod.ts";
import { routedOpen } from "../runtime/client/routed-open.ts";
import type { RouteOptions } from "../runtime/client/routed-request.ts";
import type { StreamChannel } from "../runtime/stream/channel.ts";
import { assertNoRoute } from "./call.ts";
import type { GatewayDeps } from "./part.ts";

/** What one streamed path call needs. */
export interface PathStreamCall {
  readonly namespace: string;
  readonly service: string;
  readonly endpoint: string;
  /** The request message, protobuf JSON. */
  readonly body: Uint8Array;
  readonly metadata: Readonly<Record<string, string>>;
  readonly route: RouteOptions;
  readonly emitDefaults: boolean;
  /** The span the stream continues (the HTTP request's). */
  readonly trace?: TraceContext | undefined;
  /** `Accept` of the HTTP request. */
  readonly accept: string;
  /** Aborts when the HTTP client leaves. */
  readonly signal: AbortSignal;
}

/** NDJSON's media type. */
export const ndjsonContentType = "application/x-ndjson";
const sseContentType = "text/event-stream";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** True when the request asks for a stream format by `Accept`. */
export function acceptsStream(accept: string | undefined): boolean {
  return accept !== undefined && (accept.includes(sseContentType) || accept.includes(ndjsonContentType));
}

/** Opens the stream (routed as every call is) and answers with its responses as SSE or NDJSON. */
export async function servePathStream(deps: GatewayDeps, call: PathStreamCall): Promise<Response> {
  if (deps.transport.openStream === undefined) throw new MicroError("unimplemented", "the gateway's transport cannot stream");
  const subject = callSubject({ namespace: call.namespace, service: call.service, endpoint: call.endpoint });
  const headers = requestHeaders({ contentType: jsonContentType, metadata: call.metadata, emitDefaults: call.emitDefaults, trace: call.trace });
  const open = deps.transport.openStream.bind(deps.transport);
  const request = { headers, label: call.endpoint, signal: call.signal, openBy: Date.now() + deps.timeoutMs };
  let channel: StreamChannel;
  try {
    channel = deps.discovery !== undefined
      ? await routedOpen(deps.discovery, open, { namespace: call.namespace, service: call.service, endpoint: call.endpoint, queueSubject: subject }, call.route, request)
      : (assertNoRoute(call.route), await open({ ...request, subject }));
  } catch (error) {
    if (wasNotDelivered(error)) throw new MicroError("not_found", `no service ${call.service} (nothing serves ${subject})`, { detail: call.service });
    throw error;
  }
  try {
    await channel.send(call.body);
    channel.end();
  } catch (error) {
    channel.fail(MicroError.from(error), "cancel");
  }
  const sse = call.accept.includes(sseContentType);
  const body = new ReadableStream<Uint8Array>({
    // Pull, not push: the next message is read from the service only when the HTTP client wants it.
    async pull(controller) {
      try {
        const data = channel.readNow() ?? (await channel.read());
        if (data !== undefined) return controller.enqueue(sse ? sseEvent("message", decoder.decode(data)) : line(decoder.decode(data)));
      } catch (error) {
        const e = MicroError.from(error);
        const view = JSON.stringify({ code: e.code, detail: e.message });
        controller.enqueue(sse ? sseEvent("error", view) : line(`{"error":${view}}`));
      }
      channel.close();
      controller.close();
    },
    cancel: () => channel.fail(new MicroError("canceled", `the HTTP client left the stream ${call.endpoint}`), "cancel"),
  }, { highWaterMark: 0 });
  return new Response(body, { status: 200, headers: { "content-type": sse ? sseContentType : ndjsonContentType, "cache-control": "no-cache" } });
}

/** One JSON document per line: protobuf JSON has no raw newlines, but a reply is never trusted to be compact. */
function line(json: string): Uint8Array {
  return encoder.encode(`${json.replace(/\n/g, " ")}\n`);
}

function sseEvent(event: string, json: string): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${json.replace(/\n/g, " ")}\n\n`);
}
