/**
 * The client side of streaming methods, as `createClient` exposes them (connect-es style):
 * server streams are `AsyncIterable`s of responses, client and bidi streams take an
 * `AsyncIterable` of requests. Breaking out of `for await`, aborting the signal or an error
 * in the request iterable cancels the stream on the server.
 * @module
 */
import { type DescMessage, type DescMethod, fromBinary, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { createRequest, encodeRequest } from "../client/create-client.ts";
import { writeMetadata } from "../protocol/mod.ts";
import type { Discovery } from "../client/discovery.ts";
import type { Transport } from "../client/transport.ts";
import type { ParentCall, StreamCallOptions } from "../client/types.ts";
import { MicroError } from "../errors/micro-error.ts";
import { endpointName } from "../service/names.ts";
import { contentTypeHeader, fromHeader, maxTimeoutMs, protoContentType, timeoutHeader } from "../protocol/mod.ts";
import { assertToken } from "../protocol/mod.ts";
import { failureRacer, type StreamChannel } from "./channel.ts";
import { routedOpen } from "./routed-open.ts";

/** The client method of one streaming protobuf method. */
export function streamingCall(
  method: DescMethod,
  transport: Transport,
  where: { base: string; nodeBase: string; namespace: string; serviceName: string; discovery: Discovery | undefined },
  clientTimeout: number,
  clientMetadata: Readonly<Record<string, string>>,
  parent: ParentCall | undefined,
): (input: unknown, options?: StreamCallOptions) => unknown {
  const endpoint = endpointName(method);
  const input: DescMessage = method.input;
  const output: DescMessage = method.output;

  async function open(options: StreamCallOptions): Promise<StreamChannel> {
    if (transport.openStream === undefined) {
      throw new MicroError("unimplemented", `${endpoint} streams, and this transport cannot stream (use a NatsTransport)`);
    }
    const deadline = streamDeadline(options, parent);
    const headers = natsHeaders();
    headers.set(contentTypeHeader, protoContentType);
    if (deadline !== undefined) headers.set(timeoutHeader, String(Math.max(1, deadline - Date.now())));
    writeMetadata(headers, { ...clientMetadata, ...options.metadata });
    if (parent !== undefined) headers.set(fromHeader, parent.from);
    const queueSubject = `${where.base}.${endpoint}`;
    const request = {
      headers,
      label: endpoint,
      signal: options.signal ?? parent?.signal,
      deadline,
      openBy: Math.min(deadline ?? Infinity, Date.now() + (options.timeoutMs ?? clientTimeout)),
      window: options.window,
      heartbeatMs: options.heartbeatMs,
    };
    if (options.node !== undefined) {
      assertToken("node", options.node);
      return await transport.openStream({ ...request, subject: `${where.nodeBase}${options.node}.${endpoint}` });
    }
    if (where.discovery !== undefined) {
      const target = { namespace: where.namespace, service: where.serviceName, endpoint, queueSubject };
      return await routedOpen(where.discovery, (r) => transport.openStream!(r), target, options, request);
    }
    return await transport.openStream({ ...request, subject: queueSubject });
  }

  const encode = (request: unknown) => encodeRequest(input, isMessage(request, input) ? request : createRequest(input, request));

  /** The server's messages, decoded; leaving early (break, throw) cancels the stream. */
  async function* responses(channel: StreamChannel): AsyncGenerator<MessageShape<DescMessage>, void, undefined> {
    let completed = false;
    try {
      for (;;) {
        const data = await channel.read();
        if (data === undefined) {
          completed = true;
          return;
        }
        yield decode(output, data, endpoint);
      }
    } finally {
      if (!completed) channel.fail(new MicroError("canceled", `${endpoint}: the caller stopped reading the stream`), "cancel");
      channel.close();
    }
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
        if (!(await channel.send(encode(next.value)))) break; // the server already answered
      }
      channel.end();
    } catch (error) {
      channel.fail(MicroError.from(error), "cancel");
    } finally {
      if (!done) void Promise.resolve(iterator?.return?.()).catch(() => undefined);
    }
  }

  switch (method.methodKind) {
    case "server_streaming":
      return (request, options = {}) => ({
        async *[Symbol.asyncIterator]() {
          const data = encode(request);
          const channel = await open(options);
          try {
            await channel.send(data);
            channel.end();
          } catch (error) {
            channel.fail(MicroError.from(error), "cancel");
            throw channel.failure;
          }
          yield* responses(channel);
        },
      });
    case "bidi_streaming":
      return (requests, options = {}) => {
        assertIterable(requests, endpoint);
        return {
          async *[Symbol.asyncIterator]() {
            const channel = await open(options);
            void pump(channel, requests as AsyncIterable<unknown>);
            yield* responses(channel);
          },
        };
      };
    default:
      return async (requests, options = {}) => {
        try {
          assertIterable(requests, endpoint);
          const channel = await open(options);
          void pump(channel, requests as AsyncIterable<unknown>);
          let response: MessageShape<DescMessage> | undefined;
          for await (const message of responses(channel)) response ??= message;
          if (response === undefined) throw new MicroError("internal", `${endpoint} ended without a response`);
          return response;
        } catch (error) {
          throw MicroError.from(error);
        }
      };
  }
}

/** The whole-stream deadline: only an explicit timeout, deadline or parent deadline sets one. */
function streamDeadline(options: StreamCallOptions, parent: ParentCall | undefined): number | undefined {
  let deadline: number | undefined;
  if (options.timeoutMs !== undefined) {
    if (!(options.timeoutMs > 0 && options.timeoutMs <= maxTimeoutMs)) {
      throw new MicroError("invalid_argument", `timeoutMs must be a number of ms above 0 and at most ${maxTimeoutMs}, got ${options.timeoutMs}`);
    }
    deadline = Date.now() + options.timeoutMs;
  }
  if (options.deadline !== undefined) {
    if (!Number.isFinite(options.deadline)) throw new MicroError("invalid_argument", `deadline must be a finite epoch time in ms, got ${options.deadline}`);
    deadline = Math.min(deadline ?? Infinity, options.deadline);
  }
  if (parent !== undefined) deadline = Math.min(deadline ?? Infinity, parent.deadline);
  if (deadline !== undefined && deadline <= Date.now()) throw new MicroError("deadline_exceeded", "the stream's deadline passed before it opened");
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
