/**
 * One shard while this node owns it: reads the shard's mailbox from the lease's checkpoint
 * (in mailbox order, which is the handling order; see mailbox-reader.ts), feeds each key's
 * activation, keeps the checkpoint (the oldest command not yet done), runs the reminders of
 * its keys, and on hand-off drains everything before the lease is released.
 *
 * A shard never drops a persisted reminder: its start lists the stored ones with a bound (a
 * listing can stall on the server), and when that fails it tries again later while serving
 * commands; a reminder due meanwhile fires late, never not at all, as it stays stored until
 * it fired.
 * @module
 */
import { headers as natsHeaders, type Msg, type Subscription } from "@nats-io/nats-core";
import { jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { Activation, type ActivationOwner, type ReminderChange } from "./activation.ts";
import type { ActorHostContext, Command } from "./command.ts";
import { type StoredReminder, writeRetryMs } from "./store.ts";
import { publishDurably } from "../nats/durable-publish.ts";
import { writeDurably } from "../nats/durable-kv.ts";
import { listKeysWithin } from "./key-listing.ts";
import { MailboxReader } from "./mailbox-reader.ts";
import { MicroError } from "../errors/micro-error.ts";
import {
  actorDirectFilter,
  actorEndpointHeader as endpointHeader,
  actorIdempotentHeader as idempotentHeader,
  actorMailboxSubject as mailboxSubject,
  actorReminderHeader as reminderHeader,
  actorReminderId,
  actorReminderKey,
  actorReminderPrefix,
  actorRemindersFilter,
  actorCallerReplyHeader as callerReplyHeader,
  actorReplyHeader as replyHeader,
  actorShardFilter,
  msgIdHeader,
  readMetadata,
  traceContextOf,
  traceparentHeader,
  tracestateHeader,
  runtimeMetrics,
} from "../protocol/mod.ts";

/**
 * Longest wait for a mailbox consumer's creation: on nats-server 2.9 one placed on a dead node
 * only times out, and the reader tries again sooner with a new one.
 */
const createTimeoutMs = 2000;
/** Commands held in memory per shard before the mailbox is read further. */
const maxInMemory = 10_000;
const encoder = new TextEncoder();

/** A key's activity, as stats show it. */
export interface ActiveKey {
  readonly key: string;
  readonly shard: number;
  /** Commands waiting in memory (the mailbox may hold more not yet read). */
  readonly depth: number;
  /** Last committed mailbox sequence. */
  readonly sequence: number;
  readonly timers: number;
}

export class ShardWorker implements ActivationOwner {
  readonly shard: number;
  readonly context: ActorHostContext;
  readonly #activations = new Map<string, Activation>();
  readonly #reminders = new Map<string, ReturnType<typeof setTimeout>>();
  /**
   * Reminders (`key.name`) set or forgotten here before the stored ones were loaded; undefined
   * once loaded. A listing may have read such a reminder before this node's change: the
   * change is newer, so loading leaves these alone.
   */
  #changedBeforeLoad: Set<string> | undefined = new Set();
  #loadRetry: ReturnType<typeof setTimeout> | undefined;
  /** Sequences handed to activations and not yet done, oldest first; done ones are marked. */
  readonly #pending: number[] = [];
  readonly #done = new Set<number>();
  #lastSeen: number;
  #reader: MailboxReader | undefined;
  #direct: Subscription | undefined;
  #inMemory = 0;
  #space: (() => void) | undefined;
  #stopped = false;
  #purgedTo = 1;
  #purgedAt = 0;
  /** Set by the first kill: when the handlers running then have returned. */
  #stillRunning: Promise<void>[] | undefined;
  /** Set when a commit failed; the placement restarts the shard from its lease. */
  failed: unknown = undefined;
  readonly #onFailed: () => void;

  constructor(context: ActorHostContext, shard: number, checkpoint: number, onFailed: () => void) {
    this.context = context;
    this.shard = shard;
    this.#lastSeen = Math.max(0, checkpoint - 1);
    this.#onFailed = onFailed;
  }

  /** The oldest mailbox sequence not yet done: where the next owner must start. */
  get checkpoint(): number {
    while (this.#pending.length > 0 && this.#done.has(this.#pending[0]!)) this.#done.delete(this.#pending.shift()!);
    return this.#pending[0] ?? this.#lastSeen + 1;
  }

  activeKeys(): ActiveKey[] {
    return [...this.#activations.values()].map((a) => ({ key: a.key, shard: this.shard, depth: a.depth, sequence: a.sequence, timers: a.timers }));
  }

  async start(): Promise<void> {
    const { nc, store, namespace, service, spec } = this.context;
    if (spec.durable) {
      // A reader that replaces its consumer when the consumer's NATS node dies, so a shard's
      // keys stall for a few seconds at most (see mailbox-reader.ts).
      const jsm = await jetstreamManager(nc, { timeout: createTimeoutMs, checkAPI: false });
      this.#reader = new MailboxReader({
        js: store.js,
        jsm,
        stream: store.stream,
        filter: actorShardFilter(namespace, service, this.shard),
        from: this.#lastSeen + 1,
        label: `${service} shard ${this.shard}`,
        // A promise only when memory is full: the reader awaits nothing per message otherwise.
        onMessage: (m) => {
          if (this.#stopped) return;
          this.#fromMailbox(m);
          if (this.#inMemory >= maxInMemory) return new Promise<void>((resolve) => (this.#space = resolve));
        },
      });
      await this.#reader.start();
    } else {
      this.#direct = nc.subscribe(actorDirectFilter(namespace, service, this.shard), { callback: (_e, msg) => this.#fromDirect(msg) });
      await nc.flush();
    }
    await this.#loadReminders();
  }

  #fromMailbox(m: JsMsg): void {
    const seq = m.seq;
    if (seq <= this.#lastSeen) return;
    this.#lastSeen = seq;
    const key = m.subject.slice(m.subject.lastIndexOf(".") + 1);
    const h = m.headers;
    const reminder = h?.get(reminderHeader);
    this.#pending.push(seq);
    this.#inMemory++;
    const command: Command = {
      kind: reminder ? "reminder" : "call",
      seq,
      id: h?.get(msgIdHeader) ?? "",
      // A reminder's id names its due time: kept like an idempotency key, a firing repeated
      // after the duplicate window (its owner died before moving it on) still counts once.
      idempotent: (h?.has(idempotentHeader) ?? false) || !!reminder,
      endpoint: reminder || (h?.get(endpointHeader) ?? ""),
      data: m.data,
      replyTo: h?.get(replyHeader) || undefined,
      callerReplyTo: h?.get(callerReplyHeader) || undefined,
      metadata: readMetadata(h),
      trace: traceContextOf(h?.get(traceparentHeader), h?.get(tracestateHeader)),
      done: () => this.#markDone(seq),
    };
    this.#activation(key).enqueue(command);
  }

  #fromDirect(msg: Msg): void {
    if (this.#stopped) return;
    const key = msg.subject.slice(msg.subject.lastIndexOf(".") + 1);
    const h = msg.headers;
    this.#activation(key).enqueue({
      kind: "call",
      seq: 0,
      id: "",
      idempotent: false,
      endpoint: h?.get(endpointHeader) ?? "",
      data: msg.data,
      replyTo: msg.reply || undefined,
      metadata: readMetadata(h),
      trace: traceContextOf(h?.get(traceparentHeader), h?.get(tracestateHeader)),
    });
  }

  #markDone(seq: number): void {
    this.#done.add(seq);
    this.#inMemory--;
    if (this.#space !== undefined && this.#inMemory < maxInMemory / 2) {
      const resume = this.#space;
      this.#space = undefined;
      resume();
    }
  }

  #activation(key: string): Activation {
    let activation = this.#activations.get(key);
    if (activation === undefined) {
      activation = new Activation(key, this);
      this.#activations.set(key, activation);
      runtimeMetrics()?.actorActivated(this.context.service);
    }
    return activation;
  }

  onIdle(activation: Activation): void {
    activation.scheduleIdle(this.context.passivateAfterMs, () => {
      if (this.#activations.get(activation.key) === activation) {
        activation.stop();
        this.#activations.delete(activation.key);
        runtimeMetrics()?.actorDeactivated(this.context.service, 1, true);
      }
    });
  }

  onFailure(error: unknown): void {
    if (this.failed !== undefined) return;
    this.failed = error;
    this.context.onError(error, `shard ${this.shard}`);
    // A draining shard just stops the key; its commands stay before the handed-over checkpoint.
    if (this.#stopped) return;
    void this.kill();
    this.#onFailed();
  }

  /**
   * Hand-off: stop reading, let every key finish what it holds (for at most `graceMs`), stop.
   * Resolves with the checkpoint: what did not finish stays in the mailbox for the next owner.
   */
  async drain(graceMs: number): Promise<number> {
    this.#stopped = true;
    this.#direct?.unsubscribe();
    this.#reader?.stop();
    this.#space?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([...this.#activations.values()].map((a) => a.idle())),
      new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
    ]);
    clearTimeout(timer);
    const checkpoint = this.checkpoint;
    void this.kill();
    return checkpoint;
  }

  /**
   * Stops at once (lease lost, or a failure): what is queued stays in the mailbox. Resolves
   * when the handlers that were running have returned (at most `graceMs`), so a restart of
   * the shard on this node never runs a key's handler beside its old one.
   */
  kill(graceMs = 0): Promise<void> {
    // Killed before (by its own failure): the handlers running then are still the ones to wait for.
    const running = (this.#stillRunning ??= [...this.#activations.values()].filter((a) => a.busy).map((a) => a.idle()));
    this.#stopped = true;
    this.#direct?.unsubscribe();
    // Deletes its consumer too (else it would outlive the reader until its inactivity limit).
    this.#reader?.stop();
    this.#reader = undefined;
    this.#space?.();
    for (const activation of this.#activations.values()) activation.stop();
    if (this.#activations.size > 0) runtimeMetrics()?.actorDeactivated(this.context.service, this.#activations.size, false);
    this.#activations.clear();
    for (const timer of this.#reminders.values()) clearTimeout(timer);
    this.#reminders.clear();
    clearTimeout(this.#loadRetry);
    if (running.length === 0 || graceMs <= 0) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    return Promise.race([Promise.all(running), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]).then(() => clearTimeout(timer));
  }

  /**
   * Drops mailbox messages before the checkpoint (every key has committed past them), at most
   * every `purgeEveryMs` (the lease time): the mailbox keeps only what may still have to run.
   */
  async purge(): Promise<void> {
    const { store, namespace, service, spec } = this.context;
    if (!spec.durable || this.#stopped) return;
    const checkpoint = this.checkpoint;
    if (checkpoint <= this.#purgedTo || Date.now() - this.#purgedAt < this.context.purgeEveryMs) return;
    this.#purgedAt = Date.now();
    await store.jsm.streams.purge(store.stream, { filter: actorShardFilter(namespace, service, this.shard), seq: checkpoint });
    this.#purgedTo = checkpoint;
  }

  // --- reminders ---------------------------------------------------------------------------

  #reminderPrefix(): string {
    return actorReminderPrefix(this.context.namespace, this.context.service, this.shard);
  }

  /**
   * Schedules the shard's stored reminders; when that fails (a listing stalled past its
   * bound, a read failed) it reports why and tries again later, until it succeeds or the
   * shard stops. Resolves after the first try, so a stall holds the start for the bound only.
   */
  async #loadReminders(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#readReminders();
      return;
    } catch (error) {
      if (this.#stopped) return;
      this.context.onError(error, `loading the reminders of shard ${this.shard}`);
    }
    // A stall ends once the expiring entries under it are gone: try again about a lease time later.
    this.#loadRetry = setTimeout(() => void this.#loadReminders(), Math.max(1000, this.context.listingBoundMs / 4));
  }

  /** One try: reads every stored reminder of the shard, then schedules them all (or none). */
  async #readReminders(): Promise<void> {
    const kv = this.context.store.reminders;
    const prefix = this.#reminderPrefix();
    const boundMs = this.context.listingBoundMs;
    const keys = await listKeysWithin(kv, actorRemindersFilter(prefix), boundMs);
    if (keys === undefined) throw new MicroError("unavailable", `listing the reminders of ${prefix} took over ${boundMs} ms; the shard tries again later`);
    const stored: Array<[string, string, StoredReminder]> = [];
    for (const k of keys) {
      const entry = await kv.get(k);
      if (entry === null || entry.operation !== "PUT" || entry.length === 0) continue;
      const [key, name] = k.slice(prefix.length + 1).split(".");
      if (key !== undefined && name !== undefined) stored.push([key, name, entry.json<StoredReminder>()]);
    }
    const changed = this.#changedBeforeLoad ?? new Set();
    this.#changedBeforeLoad = undefined;
    for (const [key, name, reminder] of stored) if (!changed.has(`${key}.${name}`)) this.#schedule(key, name, reminder);
  }

  async saveReminders(key: string, changes: readonly ReminderChange[]): Promise<void> {
    const kv = this.context.store.reminders;
    for (const change of changes) {
      const k = actorReminderKey(this.#reminderPrefix(), key, change.name);
      this.#changedBeforeLoad?.add(`${key}.${change.name}`);
      this.#unschedule(key, change.name);
      if ("forget" in change) {
        await kv.delete(k);
      } else {
        const reminder: StoredReminder = { dueAt: Date.now() + change.delayMs, everyMs: change.everyMs, data: change.data };
        await writeDurably(kv, k, JSON.stringify(reminder), undefined, Date.now() + writeRetryMs);
        this.#schedule(key, change.name, reminder);
      }
    }
  }

  #unschedule(key: string, name: string): void {
    const id = `${key}.${name}`;
    const timer = this.#reminders.get(id);
    if (timer !== undefined) clearTimeout(timer);
    this.#reminders.delete(id);
  }

  #schedule(key: string, name: string, reminder: StoredReminder): void {
    if (this.#stopped) return;
    const id = `${key}.${name}`;
    this.#unschedule(key, name);
    const delay = Math.min(Math.max(0, reminder.dueAt - Date.now()), 2 ** 31 - 1);
    this.#reminders.set(id, setTimeout(() => {
      this.#reminders.delete(id);
      this.#fire(key, name, reminder).catch((error) => this.context.onError(error, `reminder ${name} of ${key}`));
    }, delay));
  }

  /**
   * Puts the reminder in the key's mailbox (its id names the due time, so firing again after
   * a crash counts once), then moves it to its next time or deletes it.
   */
  async #fire(key: string, name: string, reminder: StoredReminder): Promise<void> {
    if (this.#stopped) return;
    const { store, namespace, service, spec } = this.context;
    const k = actorReminderKey(this.#reminderPrefix(), key, name);
    if (spec.durable) {
      const h = natsHeaders();
      h.set(reminderHeader, name);
      // Its id makes the retries through an election count once, as a command's does.
      await publishDurably(store.js, mailboxSubject(namespace, service, this.shard, key), encoder.encode(reminder.data), {
        headers: h,
        msgID: actorReminderId(service, key, name, reminder.dueAt),
      }, Date.now() + writeRetryMs);
    } else {
      this.#activation(key).enqueue({ kind: "reminder", seq: 0, id: "", idempotent: false, endpoint: name, data: encoder.encode(reminder.data), replyTo: undefined, metadata: {} });
    }
    if (this.#stopped) return;
    const current = await store.reminders.get(k);
    if (current === null || current.operation !== "PUT" || current.length === 0) return;
    const saved = current.json<StoredReminder>();
    if (saved.dueAt !== reminder.dueAt) return; // replaced meanwhile
    if (reminder.everyMs > 0) {
      const next: StoredReminder = { ...reminder, dueAt: Math.max(reminder.dueAt + reminder.everyMs, Date.now()) };
      await store.reminders.update(k, JSON.stringify(next), current.revision);
      this.#schedule(key, name, next);
    } else {
      await store.reminders.delete(k, { previousSeq: current.revision });
    }
  }
}
