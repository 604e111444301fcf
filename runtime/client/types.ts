/**
 * Types of the typed client.
 * @module
 */
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { ServiceType } from "../wire/subject.ts";
import type { Discovery } from "./discovery.ts";

/** Options for one call; each overrides the client's default. */
export interface CallOptions {
  /** Give up after this many ms (the client default is 10000). */
  readonly timeoutMs?: number;
  /** Give up at this epoch-ms time; the earlier of this and `timeoutMs` wins. */
  readonly deadline?: number;
  /** Aborting rejects the call at once with `canceled`. */
  readonly signal?: AbortSignal;
  /** Metadata for the handler; keys are letters, digits, `-` and `_`. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Call this node only (a node id from the registry) instead of any instance. */
  readonly node?: string;
  /** With discovery: only nodes of this version (routing rules are then ignored). */
  readonly version?: string;
  /** With discovery: only nodes whose metadata has these values, e.g. `{zone: "a"}`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** With discovery: calls with the same key reach the same node while the node set is stable. */
  readonly key?: string;
}

/** Options of a client, fixed at creation. */
export interface ClientOptions {
  /** Target service name. Default: the proto service name in kebab-case (`Greeter` → `greeter`). */
  readonly service?: string;
  /** Target namespace; default `micro`. */
  readonly namespace?: string;
  /** Target service type; default `srv`. */
  readonly type?: ServiceType;
  /** Default timeout of each call in ms; default 10000. */
  readonly timeoutMs?: number;
  /** Metadata sent with every call (per-call metadata is merged over it). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Route calls to nodes from the registry with a selector (and routing rules), retrying
   * undelivered calls on other nodes. Without it calls go to the queue subject and NATS picks.
   */
  readonly discovery?: Discovery;
}

/** A unary call: request in, response out. */
export type UnaryCall<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<MessageShape<O>>;

/** The client method for one protobuf method. */
export type ClientMethod<M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? UnaryCall<I, O>
  : never;

/** A typed client of a protobuf service: one async method per RPC, keyed by local name. */
export type Client<S extends DescService> = {
  [K in keyof S["method"]]: ClientMethod<S["method"][K]>;
};

/** What a nested call inherits from the handler that makes it. */
export interface ParentCall {
  readonly metadata: Readonly<Record<string, string>>;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** The calling instance, sent as `Micro-From`. */
  readonly from: string;
}
