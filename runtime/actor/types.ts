/**
 * The contract of keyed actors: what an author writes (`defineActor`) and what a handler sees.
 *
 * A keyed actor type is a proto service whose every request names a key (`cart_id`). Each key
 * is one logical actor: its commands are persisted in a JetStream mailbox, handled one at a
 * time in mailbox order on exactly one instance, and its state is committed with the mailbox
 * sequence it reached, so a crash neither loses nor repeats a command.
 * @module
 */
import type { DescMessage, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { ServiceDefinition, ServiceOptions } from "../service/types.ts";
import type { Client, ClientOptions } from "../client/types.ts";
import type { CallObserver, Interceptor, TraceContext } from "../protocol/mod.ts";
import type { ServiceInstance, StartServiceOptions } from "../server/service-instance.ts";

/** What an actor handler knows about the command it handles and the actor it runs in. */
export interface ActorContext {
  /** The actor's key (`c1`). */
  readonly key: string;
  /** The endpoint (`Cart.AddItem`), or `$timer` / `$reminder` for those. */
  readonly endpoint: string;
  /** The node hosting the actor now. */
  readonly nodeId: string;
  /** The command's mailbox sequence (JetStream stream sequence); 0 for timers and in-memory mailboxes. */
  readonly sequence: number;
  /** Caller metadata (`Micro-Meta-*`) carried with the command. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * The span of this command (W3C Trace Context) when tracing is on: pass it on to continue
   * the trace (a client call's `{ trace }` option, a publish's `traceparent`).
   */
  readonly trace?: TraceContext;
  /**
   * Fires `onTimer` after `delayMs` while this activation lives (timers die with passivation,
   * hand-off and crashes; a pending timer keeps the actor active). Same name replaces. Takes
   * effect when the handler returns without error (a failed command sets no timer).
   */
  setTimer(name: string, delayMs: number, data?: string): void;
  clearTimer(name: string): void;
  /**
   * Persists a reminder: `onReminder` runs after `delayMs` (then every `everyMs` if given),
   * even if the actor was passivated or its instance died. Saved when the handler's new state
   * is committed; same name replaces.
   */
  remind(name: string, delayMs: number, options?: { readonly data?: string; readonly everyMs?: number }): void;
  /** Deletes a reminder (when the state is committed). */
  forget(name: string): void;
  /**
   * A client for another service, carrying this command's metadata. Calls from a handler hold
   * the key's mailbox until they return: never call an actor that may call back this key.
   */
  client<S extends DescService>(service: S, options?: ClientOptions): Client<S>;
}

/** What a command handler returns: the reply, and the new state (omitted: unchanged). */
export interface ActorResult<State, O extends DescMessage> {
  readonly reply: MessageInitShape<O>;
  readonly state?: State;
}

/** A command handler: a plain async function of the state and the request. */
export type ActorHandler<State, I extends DescMessage, O extends DescMessage> = (
  state: State,
  request: MessageShape<I>,
  context: ActorContext,
) => Promise<ActorResult<State, O>> | ActorResult<State, O>;

/** The handler type of one method. */
export type ActorMethodImpl<State, M> = M extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? ActorHandler<State, I, O>
  : never;

/** The command handlers of an actor type, one per proto method (left out: `unimplemented`). */
export type ActorImpl<S extends DescService, State> = {
  [K in keyof S["method"]]: ActorMethodImpl<State, S["method"][K]>;
};

/** A timer or reminder as its handler receives it. */
export interface ActorSignal {
  readonly name: string;
  readonly data: string;
}

/** A timer or reminder handler: returns the new state (undefined: unchanged). */
export type ActorSignalHandler<State> = (state: State, signal: ActorSignal, context: ActorContext) => Promise<State | void> | State | void;

/**
 * How an actor type behaves; everything but `key` and `initialState` has a default. The
 * service options apply to its router; `mailbox.concurrency` defaults to 1000 there, because
 * a routed call mostly waits for the owner's reply.
 */
export interface ActorOptions<State> extends Omit<ServiceOptions, "subscriptions" | "type"> {
  /** The request field holding the key, by proto name (`cart_id`) or local name (`cartId`); every method's request must have it as a string. */
  readonly key: string;
  /** The state of a key never seen before. Must be JSON-serialisable. */
  readonly initialState: (key: string) => State;
  /** Idle time after which an activation is dropped from memory; default `MICRO_ACTOR_IDLE_MS` or 60000. */
  readonly passivateAfterMs?: number;
  /** Shards keys are spread over (fixed for the life of the stream's data); default 16. */
  readonly shards?: number;
  /**
   * `true` (default): commands go through a JetStream mailbox before they run, so an accepted
   * command survives any crash. `false`: they go straight to the owner over core NATS (faster;
   * a command in flight when its owner dies is lost and the caller gets an error).
   */
  readonly durable?: boolean;
  /** Runs when a timer set with `ctx.setTimer` fires. */
  readonly onTimer?: ActorSignalHandler<State>;
  /** Runs when a reminder set with `ctx.remind` fires. */
  readonly onReminder?: ActorSignalHandler<State>;
  /**
   * Interceptors around each command handler, the first one outermost, run by the key's owner
   * (kind `actor`, method the endpoint, message the decoded request, metadata the caller's).
   * One that throws fails the command like its handler would: the state stays as it was and
   * the caller gets the error. The router that forwards commands to owners runs none, so each
   * command is intercepted once; timers and reminders are not intercepted.
   */
  readonly interceptors?: readonly Interceptor[];
  /**
   * Told how each command ended (kind `actor`), outside the interceptors, by the key's owner
   * like the interceptors; the router observes nothing, so each command is observed once.
   */
  readonly observers?: readonly CallObserver[];
}

/** The actor part of an {@link ActorDefinition}, as the runtime reads it. */
export interface ActorSpec {
  /** The key field's proto name (`cart_id`). */
  readonly keyField: string;
  /** The key field's local name (`cartId`). */
  readonly keyLocalName: string;
  readonly initialState: (key: string) => unknown;
  readonly passivateAfterMs: number | undefined;
  readonly shards: number;
  readonly durable: boolean;
  readonly handlers: Readonly<Record<string, ActorHandler<unknown, DescMessage, DescMessage>>>;
  readonly onTimer: ActorSignalHandler<unknown> | undefined;
  readonly onReminder: ActorSignalHandler<unknown> | undefined;
  /** Around each command handler, the first one outermost (empty when none). */
  readonly interceptors: readonly Interceptor[];
  /** Told how each command ended (empty or undefined when none). */
  readonly observers?: readonly CallObserver[];
}

/**
 * A keyed actor type: a service definition (so the runner, registry and gateway serve it) with
 * its actor spec, and a `start` that runs the actor runtime (`startActor`) around the instance.
 */
export interface ActorDefinition<S extends DescService = DescService> extends ServiceDefinition<S> {
  readonly actor: ActorSpec;
  /** Starts one actor node (see `startActor`). */
  start(options: StartServiceOptions): Promise<ServiceInstance>;
}
