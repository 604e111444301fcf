import type { DescMessage, DescService, MessageInitShape } from "@bufbuild/protobuf";
import type { JetStreamBroker } from "../broker/nats-jetstream.ts";
import { publishMessage } from "../broker/typed-events.ts";
import type { PublishOptions, PublishResult } from "../broker/types.ts";
import { MicroError } from "../errors/micro-error.ts";
import { createClient } from "../client/create-client.ts";
import { type CallObserver, type Interceptor, readMetadata, type TraceContext } from "../protocol/mod.ts";
import type { Transport } from "../client/transport.ts";
import type { Discovery } from "../client/discovery.ts";
import type { Client, ClientOptions } from "../client/types.ts";
import type { HandlerContext } from "../service/types.ts";
import type { RequestHeaders } from "../protocol/mod.ts";

/** What every call of one service instance shares. */
export interface InstanceInfo {
  readonly service: { readonly name: string; readonly version: string; readonly nodeId: string };
  readonly id: string;
  readonly transport: Transport;
  readonly namespace: string;
  /** Aborted when the instance is stopped hard (its drain grace ran out). */
  readonly stopSignal: AbortSignal;
  /** Where `ctx.publish` stores events, when a broker runs. */
  readonly broker?: JetStreamBroker;
  /** Interceptors of the clients handlers make (`ctx.client`), outside their own. */
  readonly clientInterceptors?: readonly Interceptor[];
  /** Observers of the clients handlers make, outside their own. */
  readonly clientObservers?: readonly CallObserver[];
  /** How nested calls choose nodes (routing rules, version, labels, key). */
  readonly discovery?: Discovery;
}

/**
 * The context of one call. Metadata and the abort signal are built on first use, because
 * most handlers never touch them and they cost an object and a timer per call.
 */
export class CallContext implements HandlerContext {
  readonly #instance: InstanceInfo;
  readonly #headers: RequestHeaders;
  #metadata: Record<string, string> | undefined;
  #controller: AbortController | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onStop: (() => void) | undefined;

  readonly #replySubject: (() => string | undefined) | undefined;

  /**
   * The request the server handed the service's interceptors; when the handler step gets it
   * back unchanged, the metadata is this context's own and is not read from it.
   */
  request: object | undefined = undefined;

  /**
   * `replySubject` gives the caller's reply subject when a reply sent straight to it would be
   * read as this call's reply (a unary call with proto binary replies); absent for streams.
   */
  constructor(instance: InstanceInfo, readonly endpoint: string, headers: RequestHeaders, readonly deadline: number, replySubject?: () => string | undefined) {
    this.#instance = instance;
    this.#headers = headers;
    this.#replySubject = replySubject;
  }

  get service(): HandlerContext["service"] {
    return this.#instance.service;
  }

  get metadata(): Record<string, string> {
    return (this.#metadata ??= readMetadata(this.#headers.all()));
  }

  #callerTrace: TraceContext | undefined | null = null;

  /** The caller's span, read from `traceparent`/`tracestate` on first use (only tracing asks). */
  get callerTrace(): TraceContext | undefined {
    if (this.#callerTrace === null) this.#callerTrace = this.#headers.traceContext();
    return this.#callerTrace;
  }

  /** The span this call runs in, once a tracing interceptor set one (`enterSpan`). */
  span: TraceContext | undefined = undefined;

  /**
   * The span nested calls continue: this call's own when the service traces, else the
   * caller's as it arrived (passed on, as W3C Trace Context asks of a hop that does not trace).
   */
  get trace(): TraceContext | undefined {
    return this.span ?? this.callerTrace;
  }

  get replySubject(): string | undefined {
    return this.#replySubject?.();
  }

  markAnswered(): void {
    this.#headers.markAnswered?.();
  }

  /** Replaces the metadata the handler sees: a server interceptor passed on changed metadata. */
  useMetadata(metadata: Record<string, string>): void {
    this.#metadata = metadata;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController();
      this.#controller = controller;
      const stop = this.#instance.stopSignal;
      if (stop.aborted) controller.abort(stop.reason);
      else {
        this.#onStop = () => controller.abort(stop.reason);
        stop.addEventListener("abort", this.#onStop, { once: true });
      }
      const left = this.deadline - Date.now();
      if (left <= 0) controller.abort(timeoutReason());
      else this.#timer = setTimeout(() => controller.abort(timeoutReason()), left);
    }
    return this.#controller.signal;
  }

  client<S extends DescService>(service: S, options: ClientOptions = {}): Client<S> {
    const inherited = this.#instance.clientInterceptors;
    const interceptors = inherited === undefined || inherited.length === 0 ? options.interceptors : [...inherited, ...(options.interceptors ?? [])];
    const watching = this.#instance.clientObservers;
    const observers = watching === undefined || watching.length === 0 ? options.observers : [...watching, ...(options.observers ?? [])];
    return createClient(service, this.#instance.transport, {
      namespace: this.#instance.namespace,
      ...(this.#instance.discovery !== undefined ? { discovery: this.#instance.discovery } : {}),
      ...options,
      interceptors,
      observers,
    }, {
      metadata: this.metadata,
      deadline: this.deadline,
      signal: this.signal,
      from: this.#instance.id,
      trace: this.trace,
    });
  }

  get broker(): JetStreamBroker | undefined {
    return this.#instance.broker;
  }

  publish<D extends DescMessage>(topic: string, schema: D, message: MessageInitShape<D>, options: PublishOptions = {}): Promise<PublishResult> {
    const broker = this.#instance.broker;
    if (broker === undefined) return Promise.reject(new MicroError("failed_precondition", `${this.service.name} has no event broker to publish ${topic} to`));
    const traceparent = this.trace?.traceparent;
    return publishMessage(broker, topic, schema, message, { source: this.service.name, sourceVersion: this.service.version, ...(traceparent === undefined ? {} : { traceparent }), ...options });
  }

  /** Releases the deadline timer; called when the handler settles. */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onStop !== undefined) this.#instance.stopSignal.removeEventListener("abort", this.#onStop);
  }
}

function timeoutReason(): Error {
  const error = new Error("the call's deadline passed");
  error.name = "TimeoutError";
  return error;
}
