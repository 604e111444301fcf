/**
 * Deadline timers for many in-flight calls without a timer per call: calls are grouped into
 * 10 ms buckets by deadline, and one timer fires per bucket. Default `nc.request()` creates a
 * timer and an Error per call, which is most of its client CPU under load.
 * @module
 */

const bucketMs = 10;

/** Something that can time out. */
export interface Expirable {
  /** Called once when the deadline bucket fires (at most 10 ms late). */
  expire(): void;
}

/** Groups expirables by deadline; see the module doc. */
export class DeadlineWheel<T extends Expirable> {
  readonly #buckets = new Map<number, Set<T>>();
  readonly #timers = new Map<number, ReturnType<typeof setTimeout>>();

  /** Schedules `item` to expire at `deadline` (epoch ms); returns its bucket key for {@link remove}. */
  add(item: T, deadline: number): number {
    const key = Math.ceil(deadline / bucketMs) * bucketMs;
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new Set();
      this.#buckets.set(key, bucket);
      this.#timers.set(key, setTimeout(() => this.#fire(key), Math.max(0, key - Date.now())));
    }
    bucket.add(item);
    return key;
  }

  /** Forgets `item` (it completed); the bucket's timer is cleared when it empties. */
  remove(item: T, key: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined) return;
    bucket.delete(item);
    if (bucket.size === 0) {
      this.#buckets.delete(key);
      clearTimeout(this.#timers.get(key));
      this.#timers.delete(key);
    }
  }

  /** Cancels every timer (the items are dropped, not expired). */
  clear(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#buckets.clear();
  }

  #fire(key: number): void {
    const bucket = this.#buckets.get(key);
    this.#buckets.delete(key);
    this.#timers.delete(key);
    if (bucket === undefined) return;
    for (const item of bucket) item.expire();
  }
}
