/**
 * The typed client: one method per RPC of a protobuf service, calling it over a transport.
 *
 * A call goes through the client's interceptors (`ClientOptions.interceptors`, and for a
 * nested call the parent-call step first), then the last step: encode the request, write
 * the headers, pick the subject and send. Routing (the selector, retries of undelivered
 * sends) is part of that last step, because it decides where one send goes rather than what
 * the call is; interceptors see one call however many sends it took.
 * @module
 */
import { requestWithAttempts } from "./queue-attempts.ts";
import { type DescMessage, type DescMethod, type DescService, fromBinary, isMessage, type MessageShape } from "@bufbuild/protobuf";
import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import {
  applyInterceptors,
  assertNamespace,
  assertTimeout,
  assertToken,
  type CallNext,
  type CallResponse,
  callSubject,
  defaultNamespace,
  protoContentType,
  requestHeaders,
  assertObservers,
  checkedTraceContext,
  currentSpanKey,
  observing,
  type SpanSlot,
  spanOf,
  withObservers,
  withTraceHeaders,
  type TraceContext,
} from "../protocol/mod.ts";
import { defaultServiceName, endpointName } from "../service/names.ts";
import { type ClientTarget, type OutgoingCall, rejectAsMicroError } from "./client-target.ts";
import { parentCallInterceptor } from "./parent-call.ts";
import { createRequest, encodeRequest } from "./request-message.ts";
import { type RetryPolicy, routedRequest } from "./routed-request.ts";
import { streamingCall } from "./streaming-call.ts";
import type { Transport, TransportReply } from "./transport.ts";
import type { CallOptions, Client, ClientOptions, ParentCall } from "./types.ts";

const defaultTimeoutMs = 10_000;
const openBrace = 0x7b;
const noOptions: CallOptions = {};

/**
 * Creates a typed client of a protobuf service, calling it over `transport`.
 * Calls reject with {@link MicroError} only.
 *
 * @example
 * ```ts
 * const greeter = createClient(Greeter, transport, { interceptors: [logging] });
 * const { message } = await greeter.sayHello({ name: "Ada" }, { timeoutMs: 2000 });
 * ```
 */
export function createClient<S extends DescService>(
  service: S,
  transport: Transport,
  options: ClientOptions = {},
  parent?: ParentCall,
): Client<S> {
  const name = options.service ?? defaultServiceName(service);
  assertToken("service name", name);
  const namespace = options.namespace ?? defaultNamespace;
  assertNamespace(namespace);
  const own = options.interceptors ?? [];
  for (const interceptor of own) {
    if (typeof interceptor !== "function") throw new MicroError("invalid_argument", "each interceptor must be a function (next) => (request) => Promise<response>");
  }
  assertObservers(options.observers);
  const target: ClientTarget = {
    transport,
    namespace,
    type: options.type ?? "srv",
    service: name,
    discovery: options.discovery,
    timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
    metadata: options.metadata ?? {},
    from: parent?.from,
    interceptors: parent === undefined ? own : [parentCallInterceptor(parent), ...own],
    observers: options.observers ?? [],
    parentTrace: parent?.trace,
  };
  const client: Record<string, unknown> = {};
  for (const method of service.methods) {
    client[method.localName] = method.methodKind === "unary" ? unaryCall(method, target) : streamingCall(method, target);
  }
  return client as Client<S>;
}

function unaryCall(method: DescMethod, target: ClientTarget) {
  const { transport, namespace, service, discovery, from } = target;
  const endpoint = endpointName(method);
  const subject = callSubject({ namespace, type: target.type, service, endpoint });
  const input: DescMessage = method.input;
  const output: DescMessage = method.output;
  const clientMetadata = target.metadata;
  const hasClientMetadata = Object.keys(clientMetadata).length > 0;
  const routeTarget = { namespace, service, endpoint, queueSubject: subject };
  // protobuf's standard method option; NO_SIDE_EFFECTS (1) and IDEMPOTENT (2) are both safe to repeat.
  const declaredIdempotent = method.idempotency !== 0;
  const liveness = discovery === undefined ? undefined : transport.liveness?.(namespace);
  const declaredPolicy: RetryPolicy = { idempotent: declaredIdempotent, liveness };
  // Most calls carry nothing but the timeout, and the remaining time is nearly always the
  // same number, so one headers object is reused (nats.js only reads it when publishing).
  let cachedRemaining = -1;
  let cachedHeaders: MsgHdrs | undefined;

  function headersFor(
    remaining: number,
    data: Uint8Array,
    metadata: Readonly<Record<string, string>> | undefined,
    more: Readonly<Record<string, string>> | undefined,
    trace: TraceContext | undefined,
  ): MsgHdrs {
    // Without Content-Type the service reads binary unless the payload starts with "{";
    // only a message whose first field is number 15 encoded as a group starts so.
    const ambiguous = data[0] === openBrace;
    if (!ambiguous && from === undefined && isEmpty(metadata) && isEmpty(more)) {
      if (remaining !== cachedRemaining) {
        cachedHeaders = requestHeaders({ timeoutMs: remaining });
        cachedRemaining = remaining;
      }
      // A traced call: the reused headers' bytes with its span added.
      return trace === undefined ? cachedHeaders! : withTraceHeaders(cachedHeaders!, trace);
    }
    return requestHeaders({ contentType: ambiguous ? protoContentType : undefined, timeoutMs: remaining, metadata, moreMetadata: more, from, trace });
  }

  function decodeReply(reply: TransportReply): MessageShape<DescMessage> {
    try {
      return fromBinary(output, reply.data);
    } catch (cause) {
      throw new MicroError("internal", `cannot decode the ${output.typeName} reply of ${endpoint}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Encodes, writes the headers, picks the subject and sends: the last step of every call, up to its reply (not decoded). */
  function send(
    request: unknown,
    metadata: Readonly<Record<string, string>> | undefined,
    more: Readonly<Record<string, string>> | undefined,
    deadline: number,
    signal: AbortSignal | undefined,
    options: CallOptions,
    trace?: TraceContext,
  ): Promise<TransportReply> {
    let to = subject;
    let data: Uint8Array;
    let headers: MsgHdrs;
    try {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new MicroError("deadline_exceeded", `deadline passed before ${endpoint} was sent`);
      data = encodeRequest(input, isMessage(request, input) ? request : createRequest(input, request));
      headers = headersFor(remaining, data, metadata, more, trace);
      if (options.node !== undefined) to = callSubject({ namespace, service, endpoint, node: options.node });
    } catch (error) {
      return Promise.reject(MicroError.from(error));
    }
    if (discovery !== undefined && options.node === undefined) {
      const policy = options.idempotent === undefined && options.attemptTimeoutMs === undefined
        ? declaredPolicy
        : { idempotent: options.idempotent ?? declaredIdempotent, attemptTimeoutMs: options.attemptTimeoutMs, liveness };
      return routedRequest(discovery, transport, routeTarget, options, data, headers, deadline, signal, policy);
    }
    // A safe call with an attempt limit is sent again when a send is lost on its way (a NATS
    // server or the node holding it died), as a routed call is.
    if (options.attemptTimeoutMs !== undefined && (options.idempotent ?? declaredIdempotent)) {
      return requestWithAttempts(transport, to, data, headers, deadline, signal, options.attemptTimeoutMs);
    }
    return transport.request(to, data, headers, deadline, signal);
  }

  // The span an observer began (tracing) is the one sent; otherwise what the call carries.
  const lastStep: CallNext = (request: OutgoingCall) =>
    send(request.message, request.metadata, undefined, request.deadline ?? Date.now() + target.timeoutMs, request.signal, request.options ?? noOptions, spanOf(request) ?? request.trace)
      .then((reply): CallResponse => ({ message: decodeReply(reply) }));
  const chain = target.interceptors.length === 0 ? undefined : applyInterceptors(lastStep, withObservers(target.interceptors, target.observers));
  // Observers and no interceptors: the direct path, told of each call's start and end.
  const { started, succeeded, failed } = observing(target.observers);
  const observed = started !== undefined || succeeded !== undefined || failed !== undefined;

  /** What interceptors and observers see of a call. */
  function outgoingOf(request: unknown, options: CallOptions, deadline: number, trace: TraceContext | undefined, metadata: Record<string, string>): OutgoingCall {
    // The span slot is there from the start: a tracing observer filling it does not change the object's shape.
    const outgoing: OutgoingCall & SpanSlot = { kind: "unary", side: "client", namespace, service, method: endpoint, metadata, deadline, signal: options.signal, message: request, options, trace, [currentSpanKey]: undefined };
    return outgoing;
  }

  function observedCall(request: unknown, options: CallOptions, deadline: number, trace: TraceContext | undefined): Promise<MessageShape<DescMessage>> {
    // Observers read the metadata and never change it: the client's own record unless the call adds to it.
    const outgoing = outgoingOf(request, options, deadline, trace, (options.metadata === undefined ? clientMetadata : { ...clientMetadata, ...options.metadata }) as Record<string, string>);
    started?.(outgoing);
    const began = performance.now();
    // One `then` for the reply's decoding and the observers: a second would cost the call a
    // promise and a turn of the microtask queue.
    return send(request, hasClientMetadata ? clientMetadata : undefined, options.metadata, deadline, options.signal, options, spanOf(outgoing) ?? trace).then(
      (reply) => {
        let message: MessageShape<DescMessage>;
        try {
          message = decodeReply(reply);
        } catch (error) {
          failed?.(outgoing, error as MicroError, performance.now() - began);
          throw error;
        }
        succeeded?.(outgoing, performance.now() - began);
        return message;
      },
      (error: unknown) => {
        const e = MicroError.from(error);
        failed?.(outgoing, e, performance.now() - began);
        throw e;
      },
    );
  }

  // Not `async`: one promise per call instead of two, on the hottest path of the client.
  return function call(request: unknown, options: CallOptions = noOptions): Promise<MessageShape<DescMessage>> {
    let deadline: number;
    try {
      deadline = callDeadline(options, target.timeoutMs);
    } catch (error) {
      return Promise.reject(MicroError.from(error));
    }
    const trace = options.trace === undefined ? target.parentTrace : checkedTraceContext(options.trace);
    if (chain === undefined) {
      if (observed) return observedCall(request, options, deadline, trace);
      return send(request, hasClientMetadata ? clientMetadata : undefined, options.metadata, deadline, options.signal, options, trace).then(decodeReply);
    }
    const outgoing = outgoingOf(request, options, deadline, trace, { ...clientMetadata, ...options.metadata });
    try {
      return chain(outgoing).then((response) => response.message as MessageShape<DescMessage>, rejectAsMicroError);
    } catch (error) {
      return rejectAsMicroError(error);
    }
  };
}

function callDeadline(options: CallOptions, clientTimeout: number): number {
  const timeout = options.timeoutMs ?? clientTimeout;
  assertTimeout(timeout);
  if (options.deadline !== undefined && !Number.isFinite(options.deadline)) {
    throw new MicroError("invalid_argument", `deadline must be a finite epoch time in ms, got ${options.deadline}`);
  }
  if (options.attemptTimeoutMs !== undefined) assertTimeout(options.attemptTimeoutMs, "attemptTimeoutMs");
  if (options.idempotent !== undefined && typeof options.idempotent !== "boolean") {
    throw new MicroError("invalid_argument", "idempotent must be true or false", { detail: "idempotent" });
  }
  const deadline = Date.now() + timeout;
  return options.deadline !== undefined && options.deadline < deadline ? options.deadline : deadline;
}

function isEmpty(record: Readonly<Record<string, string>> | undefined): boolean {
  if (record === undefined) return true;
  for (const _ in record) return false;
  return true;
}
