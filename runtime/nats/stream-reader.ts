/**
 * Reads a JetStream stream in order, from a sequence or a time on, and keeps reading through
 * the death of a NATS node: the one reader behind keyed actors' shard mailboxes and event
 * replays. It owns a plain pull consumer (no acks, one replica, in memory) and fetches from
 * it in batches; each fetch carries heartbeats, so a consumer whose NATS node died is noticed
 * within one fetch expiry. It is then replaced by a new consumer starting after the last
 * message handed on, so nothing is lost and nothing is handed on twice.
 *
 * Why not nats.js's ordered consumer: when its consumer's node dies, it keeps asking that
 * consumer for its info (which only times out) and never makes a new one, so a reader stalls
 * for good. And on nats-server 2.9 a new consumer may be placed on the dead node for a while
 * after the crash: its creation then times out (bounded by the manager's timeout, 2 s where
 * callers follow the advice below). So a creation that has not answered within
 * {@link hedgeAfterMs} is raced by another under a new name (a new placement), up to
 * {@link maxCreations} at once; the first consumer made is used and the others are deleted.
 * Waiting out each timeout instead left a shard without a reader for 10 s and more when
 * placements kept landing on the dead node (seen under load on a 3-node cluster). The price:
 * when every placement times out, a creation fails after ~3 s instead of 2, and a server so
 * loaded that a creation takes over 0.5 s gets a second one (deleted when it answers).
 *
 * Give it a `JetStreamManager` made with a short timeout (`jetstreamManager(nc, { timeout:
 * 2000, checkAPI: false })`): that timeout is what one placement on a dead node costs.
 * @module
 */
import { nanos, nuid } from "@nats-io/nats-core";
import { AckPolicy, type Consumer, type ConsumerConfig, type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { publishFailure } from "./durable-publish.ts";

/** What a {@link StreamReader} reads, from where, and until when. */
export interface StreamReaderOptions {
  readonly js: JetStreamClient;
  /** Creates and deletes the reader's consumers; its timeout bounds each creation. */
  readonly jsm: JetStreamManager;
  readonly stream: string;
  /** Subject filter of the messages to read. */
  readonly filter: string;
  /** First stream sequence to read (1). */
  readonly fromSequence?: number;
  /** Read from the first message stored at or after this time (ISO 8601) instead of a sequence. */
  readonly since?: string;
  /**
   * Start with the last message of each subject (a KV bucket's current values), then read on
   * from there, instead of from a sequence.
   */
  readonly lastPerSubject?: boolean;
  /**
   * End once everything stored when the reader opened has been handed on (a replay), instead
   * of reading on for ever (a mailbox).
   */
  readonly toEnd?: boolean;
  /** Start of the consumers' names (a NATS name token), so an operator can tell who made them. */
  readonly namePrefix: string;
  /** A short name for debug lines. */
  readonly label: string;
  /** Called each time a fetch ends having delivered nothing: the reader has read all there is for now. */
  readonly onIdle?: () => void;
  /** Where debug lines go: how the reader rode out a NATS node's death (none by default). */
  readonly debug?: (line: string) => void;
}

/** Messages asked for per fetch. */
const batchSize = 512;
/** How long one fetch lasts; heartbeats come every half of it, and two missed end the fetch. */
const fetchExpiresMs = 2000;
/** A fetch that neither delivers, beats nor ends for this long is given up (belt and braces). */
const stallMs = fetchExpiresMs + 1500;
/** A consumer left behind (its reader crashed) is removed by the server after this idle time. */
const inactiveMs = 30_000;
const firstBackoffMs = 50;
const maxBackoffMs = 1000;
/** A consumer creation unanswered this long is raced by another (see the module comment). */
const hedgeAfterMs = 500;
/** Most creations of one consumer in flight at once. */
const maxCreations = 3;

/**
 * An in-order, failover-proof read of a stream: {@link open} it (which creates the first
 * consumer), then iterate it once; {@link stop} ends the iteration and deletes the consumer.
 *
 * @example
 * const reader = new StreamReader({ js, jsm, stream: "MICRO_EVENTS", filter: "micro.events.order.>", toEnd: true, namePrefix: "micro_replay", label: "replay" });
 * await reader.open({ until: Date.now() + 15_000 });
 * for await (const m of reader) console.log(m.seq, m.subject);
 */
export class StreamReader implements AsyncIterable<JsMsg> {
  readonly #o: StreamReaderOptions;
  /** The next stream sequence to hand on (0 until the first message when not starting from a sequence). */
  #next: number;
  #stopped = false;
  /** Set once a `toEnd` reader has handed on all there was. */
  #caughtUp = false;
  #name: string | undefined;
  #consumer: Consumer | undefined;
  #fetch: ConsumerMessages | undefined;
  #wake: (() => void) | undefined;
  /** Messages the current consumer delivered so far. */
  #delivered = 0;
  /** With `toEnd`: how many of those stored when the reader opened are still to hand on. */
  #left: number | undefined;

  constructor(options: StreamReaderOptions) {
    this.#o = options;
    this.#next = options.since !== undefined || options.lastPerSubject ? 0 : Math.max(1, options.fromSequence ?? 1);
  }

  /**
   * Creates the first consumer. Without `retry` a failure rejects at once (a shard start fails
   * and is retried by its owner); with it, a failure `retry.when` accepts (any by default) is
   * tried again, each time under a new name, until `retry.until` (epoch ms), as a reader
   * started right after a failover must.
   */
  async open(retry?: { readonly until: number; readonly when?: (error: unknown) => boolean }): Promise<void> {
    for (let backoff = firstBackoffMs; ; backoff = Math.min(backoff * 2, maxBackoffMs)) {
      try {
        this.#consumer = await this.#create();
        return;
      } catch (error) {
        if (this.#stopped || retry === undefined || Date.now() + backoff >= retry.until || !(retry.when?.(error) ?? true)) throw error;
        this.#debug(`creating the first consumer failed: ${(error as Error).message}`);
        await this.#pause(backoff);
      }
    }
  }

  /**
   * How many messages the first consumer had to deliver when it was made (known once
   * {@link open} resolved): 0 means nothing was stored for the filter, so a reader of the
   * current values has them all.
   */
  get pendingAtOpen(): number | undefined {
    return this.#pendingAtOpen;
  }

  #pendingAtOpen: number | undefined;

  /** Stops reading and deletes the current consumer (best effort). */
  stop(): void {
    this.#stopped = true;
    this.#fetch?.stop();
    this.#wake?.();
    this.#drop();
  }

  /** The messages in stream order, each once; ends on {@link stop} or, with `toEnd`, when caught up. */
  async *[Symbol.asyncIterator](): AsyncIterator<JsMsg> {
    let consumer = this.#consumer;
    this.#consumer = undefined;
    let backoff = firstBackoffMs;
    try {
      while (!this.#stopped && !this.#caughtUp) {
        if (consumer === undefined) {
          try {
            consumer = await this.#create();
            this.#debug(`new consumer ${this.#name} from ${this.#next}`);
            backoff = firstBackoffMs;
          } catch (error) {
            this.#debug(`creating a consumer failed: ${(error as Error).message}`);
            await this.#pause(backoff);
            backoff = Math.min(backoff * 2, maxBackoffMs);
            continue;
          }
          if (this.#caughtUp || this.#stopped) break;
        }
        try {
          yield* this.#fetchOnce(consumer);
        } catch (error) {
          if (this.#stopped) break;
          this.#debug(`reading ${this.#name} failed (${(error as Error).message}); making a new consumer from ${this.#next}`);
          this.#drop();
          consumer = undefined;
        }
      }
    } finally {
      this.stop();
    }
  }

  /**
   * A new consumer from where the reader is: creations raced as the module comment says. The
   * first made is kept; a creation that fails or loses deletes its consumer.
   */
  async #create(): Promise<Consumer> {
    this.#delivered = 0;
    // From a time (or each subject's last) only until the first message: then from the next
    // sequence, which in stream order brings each subject to its last value again.
    const start: Partial<ConsumerConfig> = this.#next > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#next }
      : this.#o.lastPerSubject
      ? { deliver_policy: DeliverPolicy.LastPerSubject }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: this.#o.since };
    const made = await new Promise<{ name: string; consumer: Consumer; pending: number }>((resolve, reject) => {
      let settled = false;
      let inFlight = 0;
      let hedge: ReturnType<typeof setTimeout> | undefined;
      const attempt = () => {
        inFlight++;
        const name = `${this.#o.namePrefix}_${nuid.next()}`;
        // Another placement if this one does not answer soon (not for a reader stopped meanwhile).
        if (inFlight < maxCreations) hedge = setTimeout(() => !settled && !this.#stopped && attempt(), hedgeAfterMs);
        this.#createNamed(name, start).then(
          (got) => {
            if (settled) return this.#deleteConsumer(name);
            settled = true;
            clearTimeout(hedge);
            resolve({ name, ...got });
          },
          (error) => {
            inFlight--;
            if (settled) return;
            // An answer other than a timeout (no such stream, not allowed...) is the server's
            // word for every placement: report it now. Timeouts: the last one out reports (the
            // caller's backoff decides when to try again).
            if (inFlight === 0 || !publishFailure(error).timedOut) {
              settled = true;
              clearTimeout(hedge);
              reject(error);
            }
          },
        );
      };
      attempt();
    });
    this.#name = made.name;
    // Stopped meanwhile: the consumer goes at once (the iteration will not read it).
    if (this.#stopped) this.#drop();
    // What a replay reads: what is stored now, so a live topic does not make it endless.
    this.#left ??= made.pending;
    this.#pendingAtOpen ??= made.pending;
    // Nothing stored from here on: a replay has handed on all there was.
    if (this.#o.toEnd && (made.pending === 0 || this.#left === 0)) this.#caughtUp = true;
    return made.consumer;
  }

  /** Creates the consumer `name` and gets its handle; on failure deletes it (it may exist on a dead node). */
  async #createNamed(name: string, start: Partial<ConsumerConfig>): Promise<{ consumer: Consumer; pending: number }> {
    const { jsm, js, stream, filter } = this.#o;
    try {
      const info = await jsm.consumers.add(stream, {
        name,
        filter_subject: filter,
        ...start,
        ack_policy: AckPolicy.None,
        num_replicas: 1,
        mem_storage: true,
        inactive_threshold: nanos(inactiveMs),
      });
      return { consumer: await js.consumers.get(stream, name), pending: info.num_pending };
    } catch (error) {
      // Perhaps placed on a dead node: remove it once that node is back (or let it idle out).
      this.#deleteConsumer(name);
      throw error;
    }
  }

  #deleteConsumer(name: string): void {
    this.#o.jsm.consumers.delete(this.#o.stream, name).catch(() => undefined);
  }

  #drop(): void {
    const name = this.#name;
    this.#name = undefined;
    if (name !== undefined) this.#deleteConsumer(name);
  }

  /** One fetch: yields what it delivers; throws when its consumer looks gone. */
  async *#fetchOnce(consumer: Consumer): AsyncGenerator<JsMsg> {
    const fetch = await consumer.fetch({ max_messages: batchSize, expires: fetchExpiresMs });
    this.#fetch = fetch;
    let stalled = false;
    let got = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        stalled = true;
        fetch.stop(new Error(`no message, heartbeat or end of fetch in ${stallMs} ms`));
      }, stallMs);
    };
    arm();
    try {
      for await (const m of fetch) {
        if (this.#stopped) return;
        got++;
        // Without acks a message lost on the way is not sent again: a gap in the consumer's
        // delivery count means one was, and a new consumer reads again from the first missing.
        if (m.info.deliverySequence !== this.#delivered + 1) throw new Error(`delivery ${this.#delivered + 1} of the consumer was lost`);
        this.#delivered = m.info.deliverySequence;
        if (m.seq < this.#next) continue;
        this.#next = m.seq + 1;
        // Not watched while the reader's user holds the message: a slow user is not a stall.
        clearTimeout(timer);
        yield m;
        if (this.#left !== undefined) this.#left--;
        if (this.#o.toEnd && (m.info.pending === 0 || this.#left === 0)) {
          this.#caughtUp = true;
          return;
        }
        arm();
      }
    } finally {
      clearTimeout(timer);
      fetch.stop();
      this.#fetch = undefined;
    }
    if (stalled) throw new Error(`no message, heartbeat or end of fetch in ${stallMs} ms`);
    // A healthy consumer with messages pending delivers within a fetch: none means none left.
    if (got === 0) {
      if (this.#o.toEnd) this.#caughtUp = true;
      this.#o.onIdle?.();
    }
  }

  #debug(line: string): void {
    this.#o.debug?.(`${this.#o.label}: ${line}`);
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
