/**
 * The client side of streaming methods, as `createClient` exposes them (connect-es style):
 * server streams are `AsyncIterable`s of responses, client and bidi streams take an
 * `AsyncIterable` of requests. Breaking out of `for await`, aborting the signal or an error
 * in the request iterable cancels the stream on the server.
 * @module
 */
import { type DescMessage, type DescMethod, fromBinary, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { applyInterceptors, assertTimeout, type CallNext, type CallResponse, callSubject, checkedTraceContext, protoContentType, requestHeaders, spanOf, withObservers } from "../protocol/mod.ts";
import { endpointName } from "../service/names.ts";
import { failureRacer, type StreamChannel } from "../stream/channel.ts";
import { channelReader, type MessageReader } from "../stream/reader.ts";
import type { ClientTarget, OutgoingCall } from "./client-target.ts";
import { lazyIterator } from "./lazy-iterator.ts";
import { createRequest, encodeRequest } from "./request-message.ts";
import { routedOpen } from "./routed-open.ts";
import type { StreamCallOptions } from "./types.ts";

/**
 * The client method of one streaming protobuf method. Its interceptors see one `stream`
 * request per open: the message is the request (server streams) or the `AsyncIterable` of
 * requests; the response message is the `AsyncIterable` of responses, or the one response
 * of a client stream.
 */
export function streamingCall(method: DescMethod, target: ClientTarget): (input: unknown, options?: StreamCallOptions) => unknown {
  const { transport, namespace, service, discovery } = target;
  const endpoint = endpointName(method);
  const input: DescMessage = method.input;
  const output: DescMessage = method.output;
  const queueSubject = callSubject({ namespace, type: target.type, service, endpoint });

  async function open(request: OutgoingCall): Promise<StreamChannel> {
    if (transport.openStream === undefined) {
      throw new MicroError("unimplemented", `${endpoint} streams, and this transport cannot stream (use a NatsTransport)`);
    }
    const options: StreamCallOptions = request.options ?? {};
    const deadline = request.deadline;
    if (deadline !== undefined && deadline <= Date.now()) throw new MicroError("deadline_exceeded", "the stream's deadline passed before it opened");
    const headers = requestHeaders({
      contentType: protoContentType,
      timeoutMs: deadline === undefined ? undefined : deadline - Date.now(),
      metadata: request.metadata,
      from: target.from,
      // The span an observer began (tracing) is the one sent; otherwise what the call carries.
      trace: spanOf(request) ?? request.trace,
    });
    const opening = {
      headers,
      label: endpoint,
      signal: request.signal,
      deadline,
      openBy: Math.min(deadline ?? Infinity, Date.now() + (options.timeoutMs ?? target.timeoutMs)),
      window: options.window,
      windowBytes: options.windowBytes,
      heartbeatMs: options.heartbeatMs,
    };
    if (options.node !== undefined) {
      return await transport.openStream({ ...opening, subject: callSubject({ namespace, service, endpoint, node: options.node }) });
    }
    if (discovery !== undefined) {
      return await routedOpen(discovery, (r) => transport.openStream!(r), { namespace, service, endpoint, queueSubject }, options, opening);
    }
    return await transport.openStream({ ...opening, subject: queueSubject });
  }

  const encode = (request: unknown) => encodeRequest(input, isMessage(request, input) ? request : createRequest(input, request));

  /** The server's messages, decoded; leaving early (break, throw) cancels the stream. */
  function responses(channel: StreamChannel): MessageReader<MessageShape<DescMessage>> {
    return channelReader(channel, (data) => decode(output, data, endpoint), (completed) => {
      if (!completed) channel.fail(new MicroError("canceled", `${endpoint}: the caller stopped reading the stream`), "cancel");
      channel.close();
    });
  }

  /** Sends every request, then ends the client's side; a failure there cancels the stream. */
  async function pump(channel: StreamChannel, requests: AsyncIterable<unknown>): Promise<void> {
    let iterator: AsyncIterator<unknown> | undefined;
    let done = false;
    try {
      iterator = requests[Symbol.asyncIterator]();
      const race = failureRacer(channel);
      for (;;) {
        const next = await race(iterator.next());
        if (next.done) {
          done = true;
          break;
        }
        const data = encode(next.value);
        if (!channel.sendNow(data) && !(await channel.send(data))) break; // the server already answered
      }
      channel.end();
    } catch (error) {
      channel.fail(MicroError.from(error), "cancel");
    } finally {
      if (!done) void Promise.resolve(iterator?.return?.()).catch(() => undefined);
    }
  }

  /** The last step: opens the stream and moves the messages. */
  const lastStep: CallNext = async (request: OutgoingCall): Promise<CallResponse> => {
    switch (method.methodKind) {
      case "server_streaming": {
        const data = encode(request.message);
        const channel = await open(request);
        try {
          await channel.send(data);
          channel.end();
        } catch (error) {
          channel.fail(MicroError.from(error), "cancel");
          throw channel.failure;
        }
        return { message: responses(channel) };
      }
      case "bidi_streaming": {
        assertIterable(request.message, endpoint);
        const channel = await open(request);
        void pump(channel, request.message as AsyncIterable<unknown>);
        return { message: responses(channel) };
      }
      default: {
        assertIterable(request.message, endpoint);
        const channel = await open(request);
        void pump(channel, request.message as AsyncIterable<unknown>);
        let response: MessageShape<DescMessage> | undefined;
        for await (const message of responses(channel)) response ??= message;
        if (response === undefined) throw new MicroError("internal", `${endpoint} ended without a response`);
        return { message: response };
      }
    }
  };
  const chain = applyInterceptors(lastStep, withObservers(target.interceptors, target.observers, "stream"));

  function outgoing(message: unknown, options: StreamCallOptions): OutgoingCall {
    return {
      kind: "stream",
      side: "client",
      namespace,
      service,
      method: endpoint,
      metadata: { ...target.metadata, ...options.metadata },
      deadline: streamDeadline(options),
      signal: options.signal,
      message,
      options,
      trace: options.trace === undefined ? target.parentTrace : checkedTraceContext(options.trace),
    };
  }

  /** Runs the chain for a stream whose responses are iterated; the stream opens on iteration. */
  function iterated(message: unknown, options: StreamCallOptions): AsyncIterable<unknown> {
    return {
      [Symbol.asyncIterator]: () =>
        lazyIterator(async () => {
          try {
            return (await chain(outgoing(message, options))).message as AsyncIterable<unknown>;
          } catch (error) {
            throw MicroError.from(error);
          }
        }),
    };
  }

  switch (method.methodKind) {
    case "server_streaming":
      return (request, options = {}) => iterated(request, options);
    case "bidi_streaming":
      return (requests, options = {}) => {
        assertIterable(requests, endpoint);
        return iterated(requests, options);
      };
    default:
      return async (requests, options = {}) => {
        try {
          assertIterable(requests, endpoint);
          return (await chain(outgoing(requests, options))).message;
        } catch (error) {
          throw MicroError.from(error);
        }
      };
  }
}

/** The whole-stream deadline: only an explicit timeout or deadline (or a parent's, added by its interceptor) sets one. */
function streamDeadline(options: StreamCallOptions): number | undefined {
  let deadline: number | undefined;
  if (options.timeoutMs !== undefined) {
    assertTimeout(options.timeoutMs);
    deadline = Date.now() + options.timeoutMs;
  }
  if (options.deadline !== undefined) {
    if (!Number.isFinite(options.deadline)) throw new MicroError("invalid_argument", `deadline must be a finite epoch time in ms, got ${options.deadline}`);
    deadline = Math.min(deadline ?? Infinity, options.deadline);
  }
  return deadline;
}

function assertIterable(value: unknown, endpoint: string): void {
  if (value === null || typeof value !== "object" || typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") {
    throw new MicroError("invalid_argument", `${endpoint} streams its requests: pass an AsyncIterable (an async generator), got ${value === null ? "null" : typeof value}`);
  }
}

function decode(output: DescMessage, data: Uint8Array, endpoint: string): MessageShape<DescMessage> {
  try {
    return fromBinary(output, data);
  } catch (cause) {
    throw new MicroError("internal", `cannot decode a ${output.typeName} message of ${endpoint}: ${(cause as Error).message}`, { cause });
  }
}
