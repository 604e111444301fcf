import { groupServices, recordKey } from "./records.ts";
import type { RegistryEvent, Service, ServiceRecord } from "./types.ts";

/**
 * Most nodes of one service (in one namespace) a table keeps; records of further nodes are
 * ignored until some leave. A service's NATS user may write any number of keys under its own
 * prefix, and every reader (gateway, dashboard, CLI, clients) keeps what it reads.
 */
export const maxNodesPerService = 1024;
/** Most bytes of records one service (in one namespace) a table keeps (each record is ≤ 1 MiB). */
export const maxServiceRecordBytes = 64 * 1024 * 1024;

/**
 * The live node records a registry knows, with expiry by local receive time (so clocks of
 * other machines never matter) and fan-out of changes to watchers. Shared by the in-memory
 * and the NATS KV registries: both only feed it puts and deletes.
 */
export class RecordTable {
  readonly #records = new Map<string, { record: ServiceRecord; seenAt: number; bytes: number }>();
  /** Per `{namespace}.{service}`: its nodes and their records' bytes, for the bounds above. */
  readonly #usage = new Map<string, { nodes: number; bytes: number }>();
  readonly #watchers = new Set<(event: RegistryEvent) => void>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  #frozen = false;

  constructor(sweepEveryMs = 1000) {
    this.#sweeper = setInterval(() => this.sweep(), sweepEveryMs);
    // The sweeper must not keep a process alive on its own.
    (this.#sweeper as { unref?: () => void }).unref?.();
  }

  /**
   * A node registered or refreshed; `bytes` is the size of the record as stored. False (and
   * nothing kept) when it would take its service past {@link maxNodesPerService} or
   * {@link maxServiceRecordBytes}.
   */
  put(record: ServiceRecord, bytes = 0): boolean {
    const key = recordKey(record);
    const known = this.#records.get(key);
    const service = `${record.namespace}.${record.name}`;
    const usage = this.#usage.get(service) ?? { nodes: 0, bytes: 0 };
    const nodes = usage.nodes + (known === undefined ? 1 : 0);
    const total = usage.bytes - (known?.bytes ?? 0) + bytes;
    if (nodes > maxNodesPerService || total > maxServiceRecordBytes) {
      // A known node that grew past the bound is still alive: it keeps its last record.
      if (known !== undefined) known.seenAt = Date.now();
      return false;
    }
    usage.nodes = nodes;
    usage.bytes = total;
    this.#usage.set(service, usage);
    this.#records.set(key, { record, seenAt: Date.now(), bytes });
    this.#emit({ type: known ? "update" : "register", record });
    return true;
  }

  /** A node deregistered (by key, since a KV delete carries no value). */
  delete(key: string): void {
    const entry = this.#records.get(key);
    if (entry === undefined) return;
    this.#forget(key, entry);
    this.#emit({ type: "deregister", record: entry.record });
  }

  #forget(key: string, entry: { record: ServiceRecord; bytes: number }): void {
    this.#records.delete(key);
    const service = `${entry.record.namespace}.${entry.record.name}`;
    const usage = this.#usage.get(service);
    if (usage === undefined) return;
    usage.nodes--;
    usage.bytes -= entry.bytes;
    if (usage.nodes <= 0) this.#usage.delete(service);
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
    for (const [key, entry] of this.#records) {
      if (now - entry.seenAt > entry.record.ttlMs) {
        this.#forget(key, entry);
        this.#emit({ type: "expire", record: entry.record });
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
