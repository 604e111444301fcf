/**
 * The server side of a stream: accepts the open, runs the streaming handler and moves its
 * messages through a {@link StreamChannel}. Handlers stay plain async code: requests arrive
 * as an `AsyncIterable`, responses leave as the handler's `AsyncIterable`.
 * @module
 */
import { create, type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { createInbox, type Msg } from "@nats-io/nats-core";
import type { Codec } from "../codec/codec.ts";
import { codecForRequest } from "../codec/select.ts";
import { MicroError } from "../errors/micro-error.ts";
import {
  type CallNext,
  type CallRequest,
  deadlineFromHeader,
  heartbeatHeader,
  maxTimeoutMs,
  type RequestHeaders,
  timeoutHeader,
  windowBytesHeader,
  windowHeader,
  batchHeader,
  spanOf,
} from "../protocol/mod.ts";
import type { BidiStreamingHandler, ClientStreamingHandler, EndpointDefinition, ServerStreamingHandler } from "../service/types.ts";
import { failureRacer, raceFailure, StreamChannel } from "../stream/channel.ts";
import { channelReader, type MessageReader } from "../stream/reader.ts";
import {
  checkedTuning,
  defaultHeartbeatMs,
  defaultWindow,
  defaultWindowBytes,
  legacyWindow,
  maxHeartbeatMs,
  maxWindow,
  maxWindowBytes,
  minHeartbeatMs,
  type StreamConnection,
} from "../stream/protocol.ts";
import { CallContext, type InstanceInfo } from "./handler-context.ts";
import { callContextKey, type WithCallContext } from "./incoming-call.ts";

/** What serving one stream needs from its service instance. */
export interface StreamServeOptions {
  readonly nc: StreamConnection;
  readonly info: InstanceInfo;
  /** Data frames the server buffers per stream (default 1024; 128 for a client counting messages only). */
  readonly window?: number;
  /** Data bytes the server buffers per stream, beside `window` (default 1 MiB). */
  readonly windowBytes?: number;
  /** Told about throwables that are not `MicroError` (handler bugs). */
  readonly onHandlerError: (error: unknown, endpoint: string) => void;
}

/**
 * Serves one stream open request `msg` for `endpoint`. Throws a `MicroError` (for the caller
 * to send as an error reply) when the stream cannot be accepted; once accepted, every
 * outcome travels as frames and this resolves when the stream is over. Resolves to the
 * error the stream ended with, if any.
 */
export async function serveStream(
  msg: Msg,
  endpoint: EndpointDefinition,
  open: CallNext,
  headers: RequestHeaders,
  arrived: number,
  options: StreamServeOptions,
): Promise<MicroError | undefined> {
  const { nc, info } = options;
  if (!msg.reply) throw new MicroError("invalid_argument", `a stream open for ${endpoint.name} needs a reply subject`);
  if (endpoint.method.methodKind === "unary") {
    throw new MicroError("failed_precondition", `${endpoint.name} is a unary method: call it, do not open a stream`, { detail: endpoint.name });
  }
  if (endpoint.stream === undefined) {
    throw new MicroError("unimplemented", `${endpoint.name} is not implemented by ${info.service.name} ${info.service.version}`, { detail: endpoint.name });
  }
  const codec = codecForRequest(headers, msg.data);
  const credit = checkedTuning("window", numberHeader(headers, windowHeader) ?? defaultWindow, 1, maxWindow);
  const heartbeatMs = checkedTuning("heartbeat", numberHeader(headers, heartbeatHeader) ?? defaultHeartbeatMs, minHeartbeatMs, maxHeartbeatMs);
  // Without Micro-Timeout a stream lasts as long as both sides want.
  const timed = headers.get(timeoutHeader) !== undefined;
  const deadline = deadlineFromHeader(headers.get(timeoutHeader), arrived, maxTimeoutMs);
  // A client announcing no byte window is older jetmicro: it counts messages only, so it gets
  // the old message window, which alone bounds what it can make this side buffer.
  const clientBytes = bytesHeader(headers);
  const window = options.window ?? (clientBytes === undefined ? legacyWindow : defaultWindow);
  const windowBytes = options.windowBytes ?? defaultWindowBytes;

  const channel = new StreamChannel(nc, createInbox(), { window, windowBytes, heartbeatMs, role: "server", label: endpoint.name, serviceId: info.id });
  channel.accept(msg.reply, credit, headers.get(batchHeader) === "1", clientBytes);
  channel.control("open", { [windowHeader]: String(window), [windowBytesHeader]: String(windowBytes), [batchHeader]: "1" }, channel.inbox);

  const onStop = () => channel.fail(new MicroError("unavailable", `${info.service.name} stopped before the stream ${endpoint.name} finished`), "error");
  if (info.stopSignal.aborted) onStop();
  else info.stopSignal.addEventListener("abort", onStop, { once: true });
  channel.onRelease(() => info.stopSignal.removeEventListener("abort", onStop));
  if (timed) {
    const timer = setTimeout(() => channel.fail(new MicroError("deadline_exceeded", `the deadline of the stream ${endpoint.name} passed`), "error"), deadline - Date.now());
    channel.onRelease(() => clearTimeout(timer));
  }

  const context = new CallContext({ ...info, stopSignal: channel.signal }, endpoint.name, headers, deadline);
  const requests = decodedMessages(channel, codec, endpoint.method.input);
  try {
    const kind = endpoint.method.methodKind;
    let message: unknown = requests;
    if (kind === "server_streaming") {
      const first = await requests.next();
      if (first.done) throw new MicroError("invalid_argument", `${endpoint.name} needs one request message before the client ends its side`);
      message = first.value;
    }
    const request: CallRequest & WithCallContext = {
      kind: "stream",
      side: "server",
      namespace: info.namespace,
      service: info.service.name,
      method: endpoint.name,
      get metadata() {
        return context.metadata;
      },
      deadline: timed ? deadline : undefined,
      get signal() {
        return context.signal;
      },
      message,
      trace: headers.traceContext(),
      [callContextKey]: context,
    };
    const response = await raceFailure(channel, open(request));
    if (kind === "client_streaming") await channel.send(encode(codec, endpoint, response.message));
    else await sendAll(channel, codec, endpoint, response.message as AsyncIterable<unknown>);
    channel.end();
    return undefined;
  } catch (cause) {
    // Anything but a MicroError is a bug in the handler: worth a log line with its stack.
    if (!MicroError.is(cause) && channel.failure === undefined) options.onHandlerError(cause, endpoint.name);
    const error = channel.failure ?? MicroError.from(cause);
    channel.fail(error, "error");
    return error;
  } finally {
    channel.close();
    context.dispose();
    // A handler still reading when the stream ended gets an error instead of hanging.
    void requests.return().catch(() => undefined);
  }
}

/**
 * The last step of a stream's interceptor chain: runs the handler with the stream's context.
 * The response message is the handler's `AsyncIterable` of messages (server and bidi
 * streams) or its one response (client streams).
 */
export function streamHandlerStep(endpoint: EndpointDefinition, service: string): CallNext {
  const handler = endpoint.stream!;
  return async function runStreamHandler(request) {
    const context = (request as WithCallContext)[callContextKey];
    if (context === undefined) {
      throw new MicroError("internal", `an interceptor of ${service} passed on a request it did not get: pass { ...request } with the changes`);
    }
    // An interceptor may have passed on changed metadata: the handler (and its nested calls) see it.
    if (request.metadata !== context.metadata) context.useMetadata(request.metadata);
    const span = spanOf(request);
    if (span !== undefined) context.span = span;
    switch (endpoint.method.methodKind) {
      case "server_streaming":
        return { message: (handler as ServerStreamingHandler<DescMessage, DescMessage>)(request.message as MessageShape<DescMessage>, context) };
      case "client_streaming":
        return { message: await (handler as ClientStreamingHandler<DescMessage, DescMessage>)(request.message as AsyncIterable<MessageShape<DescMessage>>, context) };
      default:
        return { message: (handler as BidiStreamingHandler<DescMessage, DescMessage>)(request.message as AsyncIterable<MessageShape<DescMessage>>, context) };
    }
  };
}

/** Sends every message of `source`; stops it (and rejects) as soon as the stream fails. */
async function sendAll(channel: StreamChannel, codec: Codec, endpoint: EndpointDefinition, source: AsyncIterable<unknown>): Promise<void> {
  if (source === null || typeof source !== "object" || typeof (source as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") {
    throw new MicroError("internal", `the handler of ${endpoint.name} must return an AsyncIterable (write it as async function*), got ${source === null ? "null" : typeof source}`);
  }
  const iterator = source[Symbol.asyncIterator]();
  const race = failureRacer(channel);
  let done = false;
  try {
    for (;;) {
      const next = await race(iterator.next());
      if (next.done) {
        done = true;
        return;
      }
      const data = encode(codec, endpoint, next.value);
      if (!channel.sendNow(data)) await channel.send(data);
    }
  } finally {
    // Runs the generator's finally blocks; not awaited, since a handler ignoring its signal may never get there.
    if (!done) void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}

/** The client's messages, decoded; ends at the client's `end`, throws the stream's failure. */
function decodedMessages(channel: StreamChannel, codec: Codec, input: DescMessage): MessageReader<MessageShape<DescMessage>> {
  // Nothing to release on finishing: serveStream closes the channel when the handler returns.
  return channelReader(channel, (data) => codec.decode(input, data), () => undefined);
}

function encode(codec: Codec, endpoint: EndpointDefinition, value: unknown): Uint8Array {
  const schema = endpoint.method.output;
  if (isMessage(value, schema)) return codec.encode(schema, value);
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `the handler of ${endpoint.name} produced ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  try {
    return codec.encode(schema, create(schema, value as Record<string, unknown>));
  } catch (cause) {
    throw new MicroError("internal", `the handler of ${endpoint.name} produced an invalid ${schema.typeName}: ${(cause as Error).message}`, { cause });
  }
}

/** The client's byte window; undefined when it announced none; `invalid_argument` when it is not an integer from 1 to 2^30. */
function bytesHeader(headers: RequestHeaders): number | undefined {
  const text = headers.get(windowBytesHeader);
  if (text === undefined || text === "") return undefined;
  // Digits only: Number() would also take "0x10", "1e3" and " 12 ".
  const n = /^[0-9]{1,16}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= maxWindowBytes)) {
    throw new MicroError("invalid_argument", `${windowBytesHeader} must be an integer from 1 to ${maxWindowBytes}, got "${text.slice(0, 32)}"`, { detail: windowBytesHeader });
  }
  return n;
}

function numberHeader(headers: RequestHeaders, name: string): number | undefined {
  const text = headers.get(name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new MicroError("invalid_argument", `${name} must be a number, got "${text}"`, { detail: name });
  return n;
}
