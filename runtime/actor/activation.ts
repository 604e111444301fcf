/**
 * One key in memory: its state, its queue, its timers. Commands run one at a time in arrival
 * order; each one's new state is committed to KV together with the mailbox sequence it
 * reached (one entry, revision-checked), so a command seen again after a crash is skipped and
 * a stale owner's commit fails instead of overwriting the new owner's. Commands that queue up
 * behind a commit are committed together (group commit): a hot key costs one KV write per
 * batch, not per command.
 * @module
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { create, type DescMessage, isMessage } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { createClient } from "../client/create-client.ts";
import { actorStateKey as stateKey, applyInterceptors, encodeError, type Interceptor, spanOf, withObservers } from "../protocol/mod.ts";
import type { ActivationContext, Command } from "./command.ts";
import { keptAnswer } from "./reply.ts";
import { type StateEntry, writeRetryMs } from "./store.ts";
import { isRevisionConflict, writeDurably } from "../nats/durable-kv.ts";
import type { ActorContext, ActorHandler, ActorResult, ActorSpec } from "./types.ts";

/** Thrown when a commit finds another writer's revision: this node no longer owns the key. */
export class OwnershipLost extends Error {
  constructor(key: string) {
    super(`another instance committed state for key ${key}: ownership lost`);
  }
}

/** Reminder changes a handler asked for, applied after its commit. */
export type ReminderChange = { readonly name: string; readonly delayMs: number; readonly everyMs: number; readonly data: string } | { readonly name: string; readonly forget: true };

/** What an activation needs from its shard. */
export interface ActivationOwner {
  readonly context: ActivationContext;
  /** Persists reminder changes of `key` (after its state commit). */
  saveReminders(key: string, changes: readonly ReminderChange[]): Promise<void>;
  /** The activation's queue ran dry; `idle` says it may be passivated now. */
  onIdle(activation: Activation): void;
  /** A commit failed: the shard must stop and restart from its lease. */
  onFailure(error: unknown): void;
}

/**
 * How long replies to idempotent commands are kept: longer than the mailbox's duplicate
 * window (120 s, `store.ts`), so a retry JetStream no longer deduplicates still finds its
 * reply and is not applied again.
 */
const keepRepliesMs = 180_000;
/** The latest replies are kept whatever their age (a key that is rarely called). */
const keepAtLeast = 32;
/** Most replies kept per key, whatever their age: the state entry must stay well under a NATS payload. */
const keepAtMost = 2_048;
/** Largest reminder data (UTF-8 bytes). */
const maxReminderData = 64 * 1024;
/** Most commands of one key committed together. */
const maxBatch = 256;
type Recorded = readonly [string, string, string?, string?, number?, number?];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Activation {
  readonly key: string;
  readonly #owner: ActivationOwner;
  #loaded = false;
  #state: unknown;
  #revision = 0;
  #seq = 0;
  #recent: Recorded[] = [];
  readonly #queue: Command[] = [];
  #running = false;
  #stopped = false;
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #idleWaiters: Array<() => void> = [];
  /** When the last command finished (for passivation). */
  lastActive = Date.now();

  constructor(key: string, owner: ActivationOwner) {
    this.key = key;
    this.#owner = owner;
  }

  /** Commands waiting (not counting the one running). */
  get depth(): number {
    return this.#queue.length;
  }

  /** The last mailbox sequence committed for this key. */
  get sequence(): number {
    return this.#seq;
  }

  /** Timers pending; they keep the activation alive. */
  get timers(): number {
    return this.#timers.size;
  }

  get busy(): boolean {
    return this.#running || this.#queue.length > 0;
  }

  enqueue(command: Command): void {
    // Dropped, not done: it stays in the mailbox, and the checkpoint must not pass it.
    if (this.#stopped) return;
    this.#queue.push(command);
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (!this.#running) {
      this.#running = true;
      void this.#drain();
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Stops: clears timers, drops what is queued. Dropped commands are not marked done: they stay
   * in the mailbox, and the shard's checkpoint stays at or before them for the next owner.
   */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#queue.length = 0;
  }

  /** Arms the passivation timer. */
  scheduleIdle(ms: number, passivate: () => void): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (!this.busy && this.#timers.size === 0) passivate();
    }, ms);
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#stopped) {
      // Group commit: what queued up while the last commit was in flight runs as one batch,
      // one handler after the other, and is committed (and answered) together.
      const batch = this.#queue.splice(0, maxBatch);
      try {
        await this.#applyBatch(batch);
      } catch (error) {
        // Not committed: neither the batch nor what queued behind it is done, so the shard's
        // checkpoint (even one a draining shard hands over) stays before them.
        this.#stopped = true;
        this.#queue.length = 0;
        this.#owner.onFailure(error);
        break;
      }
      for (const command of batch) command.done?.();
    }
    this.#running = false;
    this.lastActive = Date.now();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
    if (!this.#stopped) this.#owner.onIdle(this);
  }

  async #load(): Promise<void> {
    const { state, namespace, service, spec } = this.#owner.context;
    const entry = await state.get(stateKey(namespace, service, this.key));
    if (entry !== null && entry.operation === "PUT" && entry.length > 0) {
      const saved = entry.json<StateEntry>();
      this.#state = saved.state;
      this.#seq = saved.seq;
      this.#recent = [...(saved.recent ?? [])];
      this.#revision = entry.revision;
    } else {
      this.#state = spec.initialState(this.key);
      // A deleted entry still has a revision; the next write must follow it.
      this.#revision = entry?.revision ?? 0;
    }
    this.#loaded = true;
  }

  /**
   * Runs a batch of commands in order on the evolving state, commits once, then answers.
   * Nothing is answered before its commit; a crash before it replays the whole batch from the
   * last committed state and sequence, so each command counts exactly once.
   */
  async #applyBatch(batch: readonly Command[]): Promise<void> {
    if (!this.#loaded) await this.#load();
    const host = this.#owner.context;
    let state = this.#state;
    let seq = this.#seq;
    let recent = this.#recent;
    /** `recent` with this batch's replies added (trimmed once, before the commit). */
    let added: Recorded[] | undefined;
    /** `state` as JSON, when a check already wrote it (so the commit need not again). */
    let stateJson: string | undefined;
    let dirty = false;
    const changes: ReminderChange[] = [];
    const replies: Array<{ readonly to: string; readonly data: Uint8Array; readonly error?: MicroError }> = [];
    for (const command of batch) {
      // Applied before a crash or hand-off (its sequence is committed), or an idempotent retry
      // that came after JetStream's duplicate window (its id is kept): never twice. Answer
      // again from the kept reply.
      const kept = command.id === "" || (!command.idempotent && command.seq > seq) ? undefined : recent.find((r) => r[0] === command.id);
      if ((command.seq > 0 && command.seq <= seq) || kept !== undefined) {
        if (kept !== undefined) for (const to of replySubjects(command)) replies.push(recordedReply(to, kept));
        continue;
      }
      const own: ReminderChange[] = [];
      const outcome = await this.#run(command, state, own);
      if (outcome.changed) {
        state = outcome.state;
        stateJson = outcome.json;
        dirty = true;
      }
      changes.push(...own);
      seq = Math.max(seq, command.seq);
      if (command.idempotent && command.id !== "") {
        const entry: Recorded = [command.id, outcome.reply === undefined ? "" : toBase64(outcome.reply), outcome.error?.code ?? "", outcome.error?.message ?? "", Date.now(), command.seq];
        (added ??= [...recent]).push(entry);
        recent = added;
        dirty = true;
      }
      for (const to of replySubjects(command)) replies.push({ to, data: outcome.reply ?? new Uint8Array(), error: outcome.error });
    }
    // Read-only batches (no new state, nothing to persist) need no commit: run again after a
    // crash, they change nothing. Everything else commits state and sequence as one entry.
    if (dirty || changes.length > 0) {
      if (added !== undefined) recent = keptReplies(added, Date.now());
      // As JSON.stringify({ seq, state, recent }, jsonReplacer) writes it, reusing the state's
      // JSON from its check (a state that is undefined has no "state" member, as there).
      const json = stateJson ?? JSON.stringify(state, jsonReplacer);
      const value = `{"seq":${JSON.stringify(seq)}${json === undefined ? "" : `,"state":${json}`},"recent":${JSON.stringify(recent, jsonReplacer)}}`;
      const key = stateKey(host.namespace, host.service, this.key);
      try {
        // Retried through a leader election of the state bucket: a commit that failed would
        // restart the whole shard, holding every key of it for seconds.
        this.#revision = await writeDurably(host.state, key, value, this.#revision, Date.now() + writeRetryMs);
      } catch (error) {
        if (isRevisionConflict(error)) throw new OwnershipLost(this.key);
        throw error;
      }
      this.#state = state;
      this.#seq = seq;
      this.#recent = recent;
      if (changes.length > 0) await this.#owner.saveReminders(this.key, changes);
    }
    for (const reply of replies) {
      if (reply.error !== undefined) {
        const { headers, data } = encodeError(reply.error);
        host.reply(reply.to, data, headers);
      } else host.reply(reply.to, reply.data);
    }
  }

  /** Runs one command's handler on `state`; a failure leaves the state and drops its reminder and timer changes. */
  async #run(command: Command, state: unknown, changes: ReminderChange[]): Promise<{ changed: boolean; state: unknown; json?: string; reply?: Uint8Array; error?: MicroError }> {
    const host = this.#owner.context;
    // Timer changes take effect when the handler succeeds, as its state and reminders do.
    const timerChanges: Array<() => void> = [];
    const context = this.#context(command, changes, timerChanges);
    try {
      if (command.kind === "call") {
        const entry = host.methods.get(command.endpoint);
        const handler = entry === undefined ? undefined : host.spec.handlers[entry.handler];
        if (entry === undefined || handler === undefined) {
          throw new MicroError("unimplemented", `${host.service} has no actor handler for ${command.endpoint}`, { detail: command.endpoint });
        }
        const request = fromBinary(entry.method.input, command.data);
        const result = await this.#call(handler, state, request, context, command);
        if (result === null || typeof result !== "object" || !("reply" in result)) {
          throw new MicroError("internal", `${command.endpoint} of actor ${host.service} must return { reply, state? }`);
        }
        const reply = toBinary(entry.method.output, toMessage(entry.method.output, result.reply));
        const changed = "state" in result && result.state !== undefined;
        const json = changed ? checkStorable(result.state, command.endpoint) : undefined;
        for (const change of timerChanges) change();
        return { changed, state: changed ? result.state : state, json, reply };
      }
      const handler = command.kind === "timer" ? host.spec.onTimer : host.spec.onReminder;
      const result = handler === undefined ? undefined : await handler(state, { name: command.endpoint, data: decoder.decode(command.data) }, context);
      const json = result === undefined ? undefined : checkStorable(result, command.kind === "timer" ? "onTimer" : "onReminder");
      for (const change of timerChanges) change();
      return result === undefined ? { changed: false, state } : { changed: true, state: result, json };
    } catch (error) {
      if (!MicroError.is(error)) host.onError(error, `${command.endpoint} (key ${this.key})`);
      const failure = MicroError.from(error);
      changes.length = 0;
      return {
        changed: false,
        state,
        error: failure.serviceId === undefined ? new MicroError(failure.code, failure.message, { detail: failure.detail, serviceId: host.nodeId }) : failure,
      };
    }
  }

  /**
   * Runs a command handler inside the actor type's interceptors (kind `actor`, method the
   * endpoint, message the decoded request, metadata the command's). Timers and reminders run
   * without them: they carry no caller to check.
   */
  async #call(handler: ActorHandler<unknown, DescMessage, DescMessage>, state: unknown, request: unknown, context: ActorContext, command: Command): Promise<ActorResult<unknown, DescMessage>> {
    const host = this.#owner.context;
    const interceptors = commandInterceptors(host.spec);
    if (interceptors.length === 0) return await handler(state, request as never, context);
    let result: ActorResult<unknown, DescMessage> | undefined;
    // Composed per command: the handler takes this key's state and context besides the request,
    // and a command's commit costs far more than these few closures.
    const next = applyInterceptors(async function runActorCommand(call) {
      // The command's span, set by a tracing interceptor, for the handler to continue.
      const span = spanOf(call);
      result = await handler(state, call.message as never, span === undefined ? context : { ...context, trace: span });
      return { message: (result as { reply?: unknown } | null)?.reply };
    }, interceptors);
    const response = await next({
      kind: "actor",
      side: "server",
      namespace: host.namespace,
      service: host.service,
      method: command.endpoint,
      metadata: { ...command.metadata },
      deadline: undefined,
      signal: undefined,
      message: request,
      trace: command.trace,
    });
    // An interceptor may answer without the handler (state unchanged) or replace the reply.
    if (result === undefined || result === null || typeof result !== "object") return result ?? { reply: response.message as never };
    return response.message === result.reply ? result : { ...result, reply: response.message as never };
  }

  #context(command: Command, changes: ReminderChange[], timerChanges: Array<() => void>): ActorContext {
    const activation = this;
    const host = this.#owner.context;
    return {
      key: this.key,
      endpoint: command.kind === "call" ? command.endpoint : command.kind === "timer" ? "$timer" : "$reminder",
      nodeId: host.nodeId,
      sequence: command.seq,
      metadata: command.metadata,
      setTimer(name, delayMs, data = "") {
        checkDelay("setTimer", delayMs);
        timerChanges.push(() => {
          activation.clearTimerNamed(name);
          // A handler still running when its activation stopped arms nothing.
          if (activation.#stopped) return;
          activation.#timers.set(name, setTimeout(() => {
            activation.#timers.delete(name);
            activation.enqueue({ kind: "timer", seq: 0, id: "", idempotent: false, endpoint: name, data: encoder.encode(data), replyTo: undefined, metadata: {} });
          }, delayMs));
        });
      },
      clearTimer(name) {
        timerChanges.push(() => activation.clearTimerNamed(name));
      },
      remind(name, delayMs, options = {}) {
        checkDelay("remind", delayMs);
        if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new MicroError("invalid_argument", `reminder name "${name}" must be letters, digits, "-" or "_"`);
        const everyMs = options.everyMs ?? 0;
        if (everyMs !== 0) checkDelay("everyMs", everyMs);
        // It is stored in KV and sent through the mailbox: one that cannot be written would fail the commit.
        if (options.data !== undefined && encoder.encode(options.data).length > maxReminderData) {
          throw new MicroError("invalid_argument", `reminder ${name}: data is larger than ${maxReminderData} bytes`);
        }
        changes.push({ name, delayMs, everyMs, data: options.data ?? "" });
      },
      forget(name) {
        changes.push({ name, forget: true });
      },
      client(service, options = {}) {
        return createClient(service, host.transport, { namespace: host.namespace, metadata: command.metadata, ...options });
      },
    };
  }

  clearTimerNamed(name: string): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }
}

/** Where a command's reply goes: the router's inbox and, for a stored call, the router's caller. */
function replySubjects(command: Command): string[] {
  const out: string[] = [];
  if (command.replyTo) out.push(command.replyTo);
  if (command.callerReplyTo && command.callerReplyTo !== command.replyTo) out.push(command.callerReplyTo);
  return out;
}

/**
 * The replies still worth keeping: every one younger than {@link keepRepliesMs} (by time, so a
 * burst of later commands cannot push out a reply whose retry may still come), and the
 * latest {@link keepAtLeast} whatever their age; never more than {@link keepAtMost}.
 */
function keptReplies(recent: readonly Recorded[], now: number): Recorded[] {
  const floor = Math.max(0, recent.length - keepAtLeast);
  const out = recent.filter((r, i) => i >= floor || (r[4] !== undefined && now - r[4] < keepRepliesMs));
  return out.length > keepAtMost ? out.slice(-keepAtMost) : out;
}

/** The reply kept for an idempotent command, to answer its repeat. */
function recordedReply(to: string, kept: Recorded): { to: string; data: Uint8Array; error?: MicroError } {
  const answer = keptAnswer(kept);
  return "error" in answer ? { to, data: new Uint8Array(), error: answer.error } : { to, data: answer.data };
}

function checkDelay(what: string, ms: number): void {
  if (!Number.isFinite(ms) || ms < 0 || ms > 2 ** 31 - 1) throw new MicroError("invalid_argument", `${what}: delay must be 0 to 2147483647 ms, got ${ms}`);
}

function toMessage(schema: DescMessage, value: unknown) {
  if (isMessage(value, schema)) return value;
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `actor handler returned a reply of ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  return create(schema, value as Record<string, unknown>);
}

// State is JSON; bigints (proto int64 fields) would throw, so they are kept as strings.
function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * Throws `internal` unless `state` can be committed as JSON and read back the same. Checked
 * per command, so one bad result fails its own command instead of every commit of the batch
 * (which would stop the shard, again on every restart). A Map or Set would be stored as `{}`.
 */
function checkStorable(state: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(state, (key, value) => {
      if (value instanceof Map || value instanceof Set) throw new TypeError(`${value instanceof Map ? "a Map" : "a Set"} at "${key}" would be stored as {}`);
      if (typeof value === "function" || typeof value === "symbol") throw new TypeError(`a ${typeof value} at "${key}" cannot be stored`);
      return jsonReplacer(key, value);
    });
  } catch (error) {
    throw new MicroError("internal", `${what} returned a state that cannot be stored as JSON: ${(error as Error).message}`);
  }
  if (json === undefined) throw new MicroError("internal", `${what} returned a state that cannot be stored as JSON`);
  return json;
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
  return btoa(text);
}

/** An actor type's interceptors with its observers outside them, composed once per type. */
const composed = new WeakMap<ActorSpec, readonly Interceptor[]>();
function commandInterceptors(spec: ActorSpec): readonly Interceptor[] {
  if (spec.observers === undefined || spec.observers.length === 0) return spec.interceptors;
  let interceptors = composed.get(spec);
  if (interceptors === undefined) composed.set(spec, interceptors = withObservers(spec.interceptors, spec.observers));
  return interceptors;
}
