/**
 * Types of the typed client. The client's shape (`Client`, `CallOptions`, ...) is declared
 * in `runtime/service/typed-client.ts`, since handlers make clients too; this module adds
 * what only a caller outside a handler sets.
 * @module
 */
import type { TraceContext } from "../protocol/mod.ts";
import type { HandlerClientOptions } from "../service/typed-client.ts";
import type { Discovery } from "./discovery.ts";

export type {
  BidiStreamingCall,
  CallOptions,
  Client,
  ClientMethod,
  ClientStreamingCall,
  HandlerClientOptions,
  ServerStreamingCall,
  StreamCallOptions,
  UnaryCall,
} from "../service/typed-client.ts";

/** Options of a client, fixed at creation. */
export interface ClientOptions extends HandlerClientOptions {
  /**
   * Route calls to nodes from the registry with a selector (and routing rules), retrying
   * undelivered calls on other nodes. Without it calls go to the queue subject and NATS picks.
   */
  readonly discovery?: Discovery;
}

/** What a nested call inherits from the handler that makes it. */
export interface ParentCall {
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** The calling instance, sent as `Micro-From`. */
  readonly from: string;
  /** The span the calling handler runs in (set by tracing), read when each call starts. */
  readonly trace?: TraceContext | undefined;
}
