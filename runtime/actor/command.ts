/**
 * A command as the owner of a key handles it, whichever way it arrived: from the JetStream
 * mailbox, straight over core NATS, or from a timer or reminder.
 * @module
 */
import type { TraceContext } from "../protocol/mod.ts";
import type { DescMethod } from "@bufbuild/protobuf";
import type { MsgHdrs, NatsConnection } from "@nats-io/nats-core";
import type { Transport } from "../client/transport.ts";
import type { ActorSpec } from "./types.ts";
import type { ActorStore } from "./store.ts";

/** Caller metadata whose value names a command across retries (same value: applied once). */
export const idempotencyMetadata = "idempotency-key";

/** One command for one key. */
export interface Command {
  readonly kind: "call" | "timer" | "reminder";
  /** Mailbox (stream) sequence; 0 when it did not come through the mailbox. */
  readonly seq: number;
  /** The command id (`Nats-Msg-Id`), "" when none. */
  readonly id: string;
  /** True when the caller gave the id, so the reply is recorded for retries. */
  readonly idempotent: boolean;
  /** Endpoint name for calls; the timer or reminder name otherwise. */
  readonly endpoint: string;
  /** Proto binary request, or the timer/reminder data as UTF-8. */
  readonly data: Uint8Array;
  readonly replyTo: string | undefined;
  /**
   * The reply subject of the router's caller (a stored call only): answered too, so the reply
   * reaches the caller even if the router that stored the command has died.
   */
  readonly callerReplyTo?: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** The caller's span (W3C Trace Context), when the command was sent traced. */
  readonly trace?: TraceContext;
  /** Called once the command is committed (or needed no commit): the shard's checkpoint may pass it. Never for a dropped command. */
  readonly done?: () => void;
}

/** One entry of the state bucket, as activations read it. */
export interface StateBucketEntry {
  readonly operation: string;
  readonly length: number;
  readonly revision: number;
  json<T>(): T;
  /** The value as written. */
  string(): string;
}

/**
 * Where activations keep each key's committed state, with revision checks: the JetStream KV
 * bucket `micro_actor_state` on NATS, a map in memory (`runtime/testing/memory-actors.ts`).
 */
export interface StateBucket {
  get(key: string): Promise<StateBucketEntry | null>;
  /** Writes a new key; rejects when it exists. Resolves with the revision. */
  create(key: string, value: string): Promise<number>;
  /** Writes `key` if its revision is still `revision` (else rejects: another writer). */
  update(key: string, value: string, revision: number): Promise<number>;
}

/** What every activation of an actor type shares, wherever it is hosted. */
export interface ActivationContext {
  readonly namespace: string;
  readonly service: string;
  readonly nodeId: string;
  readonly spec: ActorSpec;
  /** Methods by endpoint name (`Cart.AddItem`) and handler local name. */
  readonly methods: ReadonlyMap<string, { readonly method: DescMethod; readonly handler: string }>;
  readonly state: StateBucket;
  /** Sends a command's reply (an error when `headers` carry one) to where it asked for it. */
  reply(to: string, data: Uint8Array, headers?: MsgHdrs): void;
  /** For `ctx.client(...)` calls from handlers. */
  readonly transport: Transport;
  readonly onError: (error: unknown, what: string) => void;
}

/** What every activation on a NATS node shares. */
export interface ActorHostContext extends ActivationContext {
  readonly nc: NatsConnection;
  readonly store: ActorStore;
  readonly passivateAfterMs: number;
  /** How often an owner purges what its shards' mailboxes no longer need. */
  readonly purgeEveryMs: number;
  /** How long a shard may list its reminders before the listing counts as stalled (then it retries). */
  readonly listingBoundMs: number;
}
