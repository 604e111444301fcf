/**
 * Reads one shard's mailbox in order, from a sequence on, and keeps reading through the death
 * of a NATS node. It owns a plain pull consumer (no acks, one replica, in memory) and fetches
 * from it in batches; each fetch carries heartbeats, so a consumer whose NATS node died is
 * noticed within one fetch expiry. It is then replaced by a new consumer starting after the
 * last message handed on.
 *
 * Why not nats.js's ordered consumer: when its consumer's node dies, it keeps asking that
 * consumer for its info (which only times out) and never makes a new one, so the shard's keys
 * stall for good. And on nats-server 2.9 a new consumer may be placed on the dead node for a
 * while after the crash: its creation then times out, and this reader tries again (with a new
 * name, so a new placement) every few hundred milliseconds, bounding each try to 2 s.
 * @module
 */
import { nuid } from "@nats-io/nats-core";
import { AckPolicy, type Consumer, type ConsumerMessages, DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { env } from "../platform/signals.ts";

/** What a {@link MailboxReader} reads and where its messages go. */
export interface MailboxReaderOptions {
  readonly js: JetStreamClient;
  /** Used to create and delete the reader's consumers; its timeout bounds each creation. */
  readonly jsm: JetStreamManager;
  readonly stream: string;
  /** The shard's subject filter. */
  readonly filter: string;
  /** First mailbox sequence to read. */
  readonly from: number;
  /** Called with each message in mailbox order; the next waits until it resolves (back-pressure). */
  readonly onMessage: (m: JsMsg) => void | Promise<void>;
  /** A short name for debug lines (`MICRO_ACTOR_DEBUG=1`). */
  readonly label: string;
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

/** Logs a line when `MICRO_ACTOR_DEBUG` is set: how a reader rides out a NATS node's death. */
export function actorDebug(line: string): void {
  if (env("MICRO_ACTOR_DEBUG")) console.error(`[actor-debug ${new Date().toISOString()}] ${line}`);
}

export class MailboxReader {
  readonly #o: MailboxReaderOptions;
  /** The next mailbox sequence to hand on. */
  #next: number;
  #stopped = false;
  #name: string | undefined;
  #fetch: ConsumerMessages | undefined;
  #wake: (() => void) | undefined;
  /** Messages the current consumer delivered so far. */
  #delivered = 0;

  constructor(options: MailboxReaderOptions) {
    this.#o = options;
    this.#next = Math.max(1, options.from);
  }

  /**
   * Creates the first consumer (rejecting when that fails, as a shard start must), then reads
   * in the background until {@link stop}.
   */
  async start(): Promise<void> {
    const consumer = await this.#create();
    void this.#run(consumer);
  }

  /** Stops reading and deletes the current consumer (best effort). */
  stop(): void {
    this.#stopped = true;
    this.#fetch?.stop();
    this.#wake?.();
    this.#drop();
  }

  async #create(): Promise<Consumer> {
    const { jsm, js, stream, filter } = this.#o;
    const name = `micro_shard_${nuid.next()}`;
    this.#name = name;
    this.#delivered = 0;
    try {
      await jsm.consumers.add(stream, {
        name,
        filter_subject: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: this.#next,
        ack_policy: AckPolicy.None,
        num_replicas: 1,
        mem_storage: true,
        inactive_threshold: nanos(inactiveMs),
      });
      return await js.consumers.get(stream, name);
    } catch (error) {
      // Perhaps placed on a dead node: remove it once that node is back (or let it idle out).
      this.#drop();
      throw error;
    }
  }

  #drop(): void {
    const name = this.#name;
    this.#name = undefined;
    if (name !== undefined) this.#o.jsm.consumers.delete(this.#o.stream, name).catch(() => undefined);
  }

  async #run(first: Consumer): Promise<void> {
    let consumer: Consumer | undefined = first;
    let backoff = firstBackoffMs;
    while (!this.#stopped) {
      if (consumer === undefined) {
        try {
          consumer = await this.#create();
          actorDebug(`${this.#o.label}: new consumer ${this.#name} from ${this.#next}`);
          backoff = firstBackoffMs;
        } catch (error) {
          actorDebug(`${this.#o.label}: creating a consumer failed: ${(error as Error).message}`);
          await this.#pause(backoff);
          backoff = Math.min(backoff * 2, maxBackoffMs);
          continue;
        }
      }
      try {
        await this.#fetchOnce(consumer);
      } catch (error) {
        if (this.#stopped) break;
        actorDebug(`${this.#o.label}: reading ${this.#name} failed (${(error as Error).message}); making a new consumer from ${this.#next}`);
        this.#drop();
        consumer = undefined;
      }
    }
  }

  /** One fetch: hands on what it delivers; rejects when its consumer looks gone. */
  async #fetchOnce(consumer: Consumer): Promise<void> {
    const fetch = await consumer.fetch({ max_messages: batchSize, expires: fetchExpiresMs });
    this.#fetch = fetch;
    let stalled = false;
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
        arm();
        // Without acks a message lost on the way is not sent again: a gap in the consumer's
        // delivery count means one was, and a new consumer reads again from the first missing.
        if (m.info.deliverySequence !== this.#delivered + 1) throw new Error(`delivery ${this.#delivered + 1} of the consumer was lost`);
        this.#delivered = m.info.deliverySequence;
        if (m.seq < this.#next) continue;
        this.#next = m.seq + 1;
        const full = this.#o.onMessage(m);
        if (full !== undefined) await full;
      }
    } finally {
      clearTimeout(timer);
      this.#fetch = undefined;
    }
    if (stalled) throw new Error(`no message, heartbeat or end of fetch in ${stallMs} ms`);
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
