/**
 * One key in memory: its state, its queue, its timers. Commands run one at a time in arrival
 * order; each one's new state is committed to KV together with the mailbox sequence it
 * reached (one entry, revision-checked), so a command seen again after a crash is skipped and
 * a stale owner's commit fails instead of overwriting the new owner's.
 * @module
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { create, type DescMessage, isMessage } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { type ActorHostContext, type Command, stateKey } from "./command.ts";
import { errorHeaders, recordedError } from "./reply.ts";
import { isRevisionConflict, type StateEntry } from "./store.ts";
import type { ActorContext } from "./types.ts";

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
  readonly context: ActorHostContext;
  /** Persists reminder changes of `key` (after its state commit). */
  saveReminders(key: string, changes: readonly ReminderChange[]): Promise<void>;
  /** The activation's queue ran dry; `idle` says it may be passivated now. */
  onIdle(activation: Activation): void;
  /** A commit failed: the shard must stop and restart from its lease. */
  onFailure(error: unknown): void;
}

const recentLimit = 16;
type Recorded = readonly [string, string, string?, string?];
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
    if (this.#stopped) {
      command.done?.();
      return;
    }
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

  /** Stops: clears timers, drops what is queued (it stays in the mailbox for the next owner). */
  stop(): void {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    for (const command of this.#queue.splice(0)) command.done?.();
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
      const command = this.#queue.shift()!;
      try {
        await this.#apply(command);
      } catch (error) {
        this.#stopped = true;
        for (const queued of this.#queue.splice(0)) queued.done?.();
        this.#owner.onFailure(error);
      } finally {
        command.done?.();
      }
    }
    this.#running = false;
    this.lastActive = Date.now();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
    if (!this.#stopped) this.#owner.onIdle(this);
  }

  async #load(): Promise<void> {
    const { store, namespace, service, spec } = this.#owner.context;
    const entry = await store.state.get(stateKey(namespace, service, this.key));
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

  async #apply(command: Command): Promise<void> {
    if (!this.#loaded) await this.#load();
    const host = this.#owner.context;
    if (command.seq > 0 && command.seq <= this.#seq) {
      // Applied before a crash or hand-off: never twice. Answer again if the reply was kept.
      const kept = command.id === "" ? undefined : this.#recent.find((r) => r[0] === command.id);
      if (kept !== undefined && command.replyTo) this.#sendRecorded(command.replyTo, kept);
      return;
    }
    const changes: ReminderChange[] = [];
    const context = this.#context(command, changes);
    let reply: Uint8Array | undefined;
    let failure: MicroError | undefined;
    let next = this.#state;
    let changed = false;
    try {
      if (command.kind === "call") {
        const entry = host.methods.get(command.endpoint);
        const handler = entry === undefined ? undefined : host.spec.handlers[entry.handler];
        if (entry === undefined || handler === undefined) {
          throw new MicroError("unimplemented", `${host.service} has no actor handler for ${command.endpoint}`, { detail: command.endpoint });
        }
        const request = fromBinary(entry.method.input, command.data);
        const result = await handler(this.#state, request as never, context);
        if (result === null || typeof result !== "object" || !("reply" in result)) {
          throw new MicroError("internal", `${command.endpoint} of actor ${host.service} must return { reply, state? }`);
        }
        reply = toBinary(entry.method.output, toMessage(entry.method.output, result.reply));
        if ("state" in result && result.state !== undefined) {
          next = result.state;
          changed = true;
        }
      } else {
        const handler = command.kind === "timer" ? host.spec.onTimer : host.spec.onReminder;
        if (handler !== undefined) {
          const result = await handler(this.#state, { name: command.endpoint, data: decoder.decode(command.data) }, context);
          if (result !== undefined) {
            next = result;
            changed = true;
          }
        }
      }
    } catch (error) {
      if (!MicroError.is(error)) host.onError(error, `${command.endpoint} (key ${this.key})`);
      failure = MicroError.from(error);
      changes.length = 0;
    }
    if (failure !== undefined && failure.serviceId === undefined) {
      failure = new MicroError(failure.code, failure.message, { detail: failure.detail, serviceId: host.nodeId });
    }

    // Read-only commands (no new state, nothing to persist) need no commit: run again after a
    // crash, they change nothing. Everything else commits state and sequence as one entry.
    const record = command.idempotent && command.id !== "";
    if (changed || changes.length > 0 || record) {
      const recent = record
        ? [...this.#recent, [command.id, reply === undefined ? "" : toBase64(reply), failure?.code, failure?.message] as const].slice(-recentLimit)
        : this.#recent;
      const seq = Math.max(this.#seq, command.seq);
      const value = JSON.stringify({ seq, state: next, recent } satisfies StateEntry, jsonReplacer);
      const key = stateKey(host.namespace, host.service, this.key);
      try {
        this.#revision = this.#revision === 0 ? await host.store.state.create(key, value) : await host.store.state.update(key, value, this.#revision);
      } catch (error) {
        if (isRevisionConflict(error)) throw new OwnershipLost(this.key);
        throw error;
      }
      this.#state = next;
      this.#seq = seq;
      this.#recent = recent as Recorded[];
      if (changes.length > 0) await this.#owner.saveReminders(this.key, changes);
    }
    if (command.replyTo) {
      if (failure !== undefined) host.nc.publish(command.replyTo, encoder.encode(failure.message), { headers: errorHeaders(failure) });
      else host.nc.publish(command.replyTo, reply ?? new Uint8Array());
    }
  }

  #sendRecorded(replyTo: string, kept: readonly [string, string, string?, string?]): void {
    const nc = this.#owner.context.nc;
    if (kept[2]) {
      const error = recordedError(kept[2], kept[3] ?? kept[2]);
      nc.publish(replyTo, encoder.encode(error.message), { headers: errorHeaders(error) });
    } else nc.publish(replyTo, fromBase64(kept[1]));
  }

  #context(command: Command, changes: ReminderChange[]): ActorContext {
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
        activation.clearTimerNamed(name);
        activation.#timers.set(name, setTimeout(() => {
          activation.#timers.delete(name);
          activation.enqueue({ kind: "timer", seq: 0, id: "", idempotent: false, endpoint: name, data: encoder.encode(data), replyTo: undefined, metadata: {} });
        }, delayMs));
      },
      clearTimer(name) {
        activation.clearTimerNamed(name);
      },
      remind(name, delayMs, options = {}) {
        checkDelay("remind", delayMs);
        if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new MicroError("invalid_argument", `reminder name "${name}" must be letters, digits, "-" or "_"`);
        const everyMs = options.everyMs ?? 0;
        if (everyMs !== 0) checkDelay("everyMs", everyMs);
        changes.push({ name, delayMs, everyMs, data: options.data ?? "" });
      },
      forget(name) {
        changes.push({ name, forget: true });
      },
    };
  }

  clearTimerNamed(name: string): void {
    const timer = this.#timers.get(name);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(name);
  }
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

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i++) text += String.fromCharCode(bytes[i]!);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
