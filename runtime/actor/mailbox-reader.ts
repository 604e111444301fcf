/**
 * Reads one shard's mailbox in order, from a sequence on, and keeps reading through the death
 * of a NATS node: the shared {@link StreamReader} (see `runtime/nats/stream-reader.ts` for how
 * and why it replaces its consumer), handing each command on with back-pressure.
 * @module
 */
import type { JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import { StreamReader } from "../nats/stream-reader.ts";
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

/** Logs a line when `MICRO_ACTOR_DEBUG` is set: how a reader rides out a NATS node's death. */
function actorDebug(line: string): void {
  if (env("MICRO_ACTOR_DEBUG")) console.error(`[actor-debug ${new Date().toISOString()}] ${line}`);
}

/** A shard's mailbox reader: {@link start} it once, {@link stop} it when the shard goes. */
export class MailboxReader {
  readonly #o: MailboxReaderOptions;
  readonly #reader: StreamReader;

  constructor(options: MailboxReaderOptions) {
    this.#o = options;
    this.#reader = new StreamReader({
      js: options.js,
      jsm: options.jsm,
      stream: options.stream,
      filter: options.filter,
      fromSequence: options.from,
      namePrefix: "micro_shard",
      label: options.label,
      debug: actorDebug,
    });
  }

  /**
   * Creates the first consumer (rejecting when that fails, as a shard start must), then reads
   * in the background until {@link stop}.
   */
  async start(): Promise<void> {
    await this.#reader.open();
    void this.#run();
  }

  /** Stops reading and deletes the current consumer (best effort). */
  stop(): void {
    this.#reader.stop();
  }

  async #run(): Promise<void> {
    for await (const m of this.#reader) {
      try {
        // Awaited only when the shard's queue is full (a promise): most messages go on at once.
        const full = this.#o.onMessage(m);
        if (full !== undefined) await full;
      } catch (error) {
        // One command that cannot be taken must not stop the shard's others behind it.
        actorDebug(`${this.#o.label}: message ${m.seq} failed: ${(error as Error).message}`);
      }
    }
  }
}
