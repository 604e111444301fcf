/**
 * What the unary and streaming methods of one typed client share, and the request their
 * interceptors see.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import type { CallObserver, CallRequest, Interceptor, ServiceType, TraceContext } from "../protocol/mod.ts";
import type { Discovery } from "./discovery.ts";
import type { Transport } from "./transport.ts";
import type { CallOptions } from "./types.ts";

/** What every method of one client shares. */
export interface ClientTarget {
  readonly transport: Transport;
  readonly namespace: string;
  readonly type: ServiceType;
  readonly service: string;
  readonly discovery: Discovery | undefined;
  /** Default timeout of a call (of a stream's open), ms. */
  readonly timeoutMs: number;
  /** Metadata of every call. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Sent as `Micro-From` when the client belongs to a handler. */
  readonly from: string | undefined;
  /** The whole chain, built-in ones first; empty when nothing intercepts. */
  readonly interceptors: readonly Interceptor[];
  /** Told how each call began and ended, outside the interceptors; empty when none. */
  readonly observers: readonly CallObserver[];
  /** The span of the handler the client belongs to, which its calls continue unless given their own. */
  readonly parentTrace: TraceContext | undefined;
}

/** A call as the client's interceptors see it, with the per-call options the last step reads. */
export interface OutgoingCall extends CallRequest {
  /** The options given to the call (node, version, labels, key, stream tuning). */
  readonly options?: CallOptions;
}

/** Rejects with `error` as a `MicroError`: what an interceptor throws reaches the caller as one. */
export function rejectAsMicroError(error: unknown): Promise<never> {
  return Promise.reject(MicroError.from(error));
}
