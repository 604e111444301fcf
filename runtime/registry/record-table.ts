import { groupServices, recordKey } from "./records.ts";
import type { RegistryEvent, Service, ServiceRecord } from "./types.ts";

/**
 * The live node records a registry knows, with expiry by local receive time (so clocks of
 * other machines never matter) and fan-out of changes to watchers. Shared by the in-memory
 * and the NATS KV registries: both only feed it puts and deletes.
 */
export class RecordTable {
  readonly #records = new Map<string, { record: ServiceRecord; seenAt: number }>();
  readonly #watchers = new Set<(event: RegistryEvent) => void>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #frozen = false;

  constructor(sweepEveryMs = 1000) {
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    // The sweeper must not keep a process alive on its own.
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  /** A node registered or refreshed. */
  put(record: ServiceRecord): void {
    const key = recordKey(record);
    const known = this.#records.has(key);
    this.#records.set(key, { record, seenAt: Date.now() });
    this.#emit({ type: known ? "update" : "register", record });
  }

  /** A node deregistered (by key, since a KV delete carries no value). */
  delete(key: string): void {
    const entry = this.#records.get(key);
    if (entry === undefined) return;
    this.#records.delete(key);
    this.#emit({ type: "deregister", record: entry.record });
  }

  /**
   * While frozen (the registry cannot be reached), nothing expires: callers keep the last
   * known nodes. Thawing gives every node a fresh TTL to be heard from again.
   */
  freeze(frozen: boolean): void {
    if (this.#frozen && !frozen) {
      const now = Date.now();
      for (const entry of this.#records.values()) entry.seenAt = now;
    }
    this.#frozen = frozen;
  }

  /** Drops nodes whose TTL ran out, telling watchers. */
  sweep(now = Date.now()): void {
    if (this.#frozen) return;
    for (const [key, { record, seenAt }] of this.#records) {
      if (now - seenAt > record.ttlMs) {
        this.#records.delete(key);
        this.#emit({ type: "expire", record });
      }
    }
  }

  /** Live services, grouped by version. */
  services(filter?: (record: ServiceRecord) => boolean): Service[] {
    this.sweep();
    const records = [...this.#records.values()].map((e) => e.record);
    return groupServices(filter ? records.filter(filter) : records);
  }

  /** Changes from now until `signal` aborts or the table closes. */
  async *watch(signal?: AbortSignal): AsyncIterable<RegistryEvent> {
    const queue: RegistryEvent[] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const push = (event: RegistryEvent) => {
      queue.push(event);
      wake?.();
    };
    const stop = () => {
      done = true;
      wake?.();
    };
    this.#watchers.add(push);
    this.#closers.add(stop);
    signal?.addEventListener("abort", stop, { once: true });
    try {
      while (!done && !signal?.aborted) {
        const event = queue.shift();
        if (event !== undefined) yield event;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.#watchers.delete(push);
      this.#closers.delete(stop);
      signal?.removeEventListener("abort", stop);
    }
  }

  readonly #closers = new Set<() => void>();

  /** Ends every watch and the sweeper. */
  close(): void {
    clearInterval(this.#sweeper);
    for (const stop of this.#closers) stop();
  }

  #emit(event: RegistryEvent): void {
    for (const watcher of this.#watchers) watcher(event);
  }
}
