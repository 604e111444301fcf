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
  deadlineFromHeader,
  protoContentType,
  type RequestHeaders,
  timeoutHeader,
  type TraceContext,
  traceContextOf,
  traceparentHeader,
  tracestateHeader,
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

  /** The caller's span, read from `traceparent`/`tracestate` on each use (only tracing asks). */
  get trace(): TraceContext | undefined {
    return traceContextOf(this.headers.get(traceparentHeader), this.headers.get(tracestateHeader));
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
   * copies own properties only. The signal is still made on first use.
   */
  toRequest(): CallRequest & WithCallContext {
    const context = this.context;
    return {
      kind: this.kind,
      side: this.side,
      namespace: this.namespace,
      service: this.service,
      method: this.method,
      metadata: context.metadata,
      deadline: context.deadline,
      get signal() {
        return context.signal;
      },
      message: this.message,
      trace: this.trace,
      [callContextKey]: context,
    };
  }

  /** Releases the context's timer and listeners; called when the call settled. */
  dispose(): void {
    this.#context?.dispose();
  }
}
