/**
 * The actor mailbox of a service instance: a bounded queue in front of a concurrency limit.
 *
 * Plain code on purpose: it runs once per message, where an Effect fiber per message would
 * cost more than the handler (see shared notes on Effect hot-path costs).
 * @module
 */

/** A bounded FIFO with at most `concurrency` jobs running; `offer` refuses when full. */
export class Mailbox<T> {
  readonly capacity: number;
  readonly concurrency: number;
  readonly #run: (item: T) => Promise<void>;
  // A growable ring would save the shift cost; arrays shift in O(1) amortised on V8 and JSC
  // for queue-like use, and the queue is bounded anyway.
  readonly #queue: T[] = [];
  #running = 0;
  #idle: Array<() => void> = [];

  constructor(capacity: number, concurrency: number, run: (item: T) => Promise<void>) {
    this.capacity = capacity;
    this.concurrency = concurrency;
    this.#run = run;
  }

  /** Messages waiting for a slot. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Handlers running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Runs or queues `item`; false when the mailbox is full (the caller must refuse the work).
   * `beyondCapacity` queues even then: for work that is already bounded elsewhere (events,
   * limited by the consumer's unacknowledged maximum) and must wait, not be refused.
   */
  offer(item: T, beyondCapacity = false): boolean {
    if (this.#running < this.concurrency) {
      this.#start(item);
      return true;
    }
    if (!beyondCapacity && this.#queue.length >= this.capacity) return false;
    this.#queue.push(item);
    return true;
  }

  /** Empties the queue (nothing queued will run) and returns what was in it, oldest first. */
  clear(): T[] {
    return this.#queue.splice(0);
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #start(item: T): void {
    this.#running++;
    // #run never rejects: the server turns every failure into an error reply.
    this.#run(item).then(this.#done, this.#done);
  }

  readonly #done = (): void => {
    this.#running--;
    const next = this.#queue.shift();
    if (next !== undefined) return this.#start(next);
    if (this.#running === 0 && this.#idle.length > 0) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const resolve of waiters) resolve();
    }
  };
}
