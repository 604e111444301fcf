/**
 * A unary call as the server received it: the request that its interceptors see. Built per
 * call, so everything costly is done on first use: the deadline is read from its header, the
 * metadata parsed and the handler's context made only when something asks (most handlers
 * and interceptors never touch metadata).
 * @module
 */
import type { Codec } from "../codec/codec.ts";
import {
  type CallRequest,
  currentSpanKey,
  deadlineFromHeader,
  protoContentType,
  type RequestHeaders,
  timeoutHeader,
  type TraceContext,
} from "../protocol/mod.ts";
import { CallContext, type InstanceInfo } from "./handler-context.ts";

/**
 * Where the handler step finds the call's context on a request: a symbol key, so a copy an
 * interceptor passes on (`next({ ...request, message })`) keeps it.
 */
export const callContextKey: unique symbol = Symbol("jetmicro.callContext");

/** A request that carries the context of the call it belongs to. */
export interface WithCallContext {
  readonly [callContextKey]?: CallContext;
}

type Exposed = { readonly [callContextKey]: CallContext };

/**
 * The fields of {@link IncomingCall.toRequest} read on first use. Getters shared by every
 * request (an object literal's getters would be new closures per call, several times slower),
 * enumerable, so a copy made by spreading reads them.
 */
const lazyFields: PropertyDescriptorMap = {
  metadata: {
    enumerable: true,
    get(this: Exposed) {
      return this[callContextKey].metadata;
    },
  },
  signal: {
    enumerable: true,
    get(this: Exposed) {
      return this[callContextKey].signal;
    },
  },
  trace: {
    enumerable: true,
    get(this: Exposed) {
      return this[callContextKey].callerTrace;
    },
  },
};

/** One unary call on the server; see the module doc. */
export class IncomingCall implements CallRequest, WithCallContext {
  readonly kind = "unary";
  readonly side = "server";
  /** The decoded request, once the codec step has run. */
  message: unknown = undefined;
  /** The codec of the request, once the codec step has run; the reply uses it too. */
  codec: Codec | undefined = undefined;
  #deadline: number | undefined = undefined;
  #context: CallContext | undefined = undefined;
  /** The span slot of `enterSpan`, declared so that a tracing observer filling it does not change the object's shape. */
  [currentSpanKey]: TraceContext | undefined = undefined;

  constructor(
    readonly info: InstanceInfo,
    /** The endpoint as the caller named it (`Greeter.SayHello` or the proto full name). */
    readonly method: string,
    readonly data: Uint8Array,
    readonly headers: RequestHeaders,
    readonly arrived: number,
    readonly defaultTimeoutMs: number,
  ) {}

  get namespace(): string {
    return this.info.namespace;
  }

  get service(): string {
    return this.info.service.name;
  }

  /** From `Micro-Timeout` and the arrival time; throws `invalid_argument` for a bad header. */
  get deadline(): number {
    return (this.#deadline ??= deadlineFromHeader(this.headers.get(timeoutHeader), this.arrived, this.defaultTimeoutMs));
  }

  get metadata(): Record<string, string> {
    return this.context.metadata;
  }

  /** The caller's span, read from `traceparent`/`tracestate` on first use (only tracing asks). */
  get trace(): TraceContext | undefined {
    return this.context.callerTrace;
  }

  get signal(): AbortSignal {
    return this.context.signal;
  }

  /** The handler's context, made on first use. */
  get context(): CallContext {
    // A reply straight to the caller must be in the codec the caller reads: only proto binary
    // replies are sent as the handler's bytes (JSON ones the server re-encodes).
    return (this.#context ??= new CallContext(this.info, this.method, this.headers, this.deadline, () =>
      this.codec?.contentType === protoContentType ? this.headers.replySubject?.() : undefined));
  }

  get [callContextKey](): CallContext {
    return this.context;
  }

  /**
   * A plain copy for interceptors written by users: they may pass `{ ...request }` on, which
   * copies own properties only (reading the getters). Metadata, the trace context and the
   * signal are still read on first use, so interceptors that only pass the request on
   * (metrics, tracing) never parse the headers for them.
   */
  toRequest(): CallRequest & WithCallContext {
    const context = this.context;
    const request = {
      kind: this.kind,
      side: this.side,
      namespace: this.namespace,
      service: this.service,
      method: this.method,
      deadline: context.deadline,
      message: this.message,
      [callContextKey]: context,
    };
    Object.defineProperties(request, lazyFields);
    context.request = request;
    return request as unknown as CallRequest & WithCallContext;
  }

  /** Releases the context's timer and listeners; called when the call settled. */
  dispose(): void {
    this.#context?.dispose();
  }
}
