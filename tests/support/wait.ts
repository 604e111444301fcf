/**
 * Waiting on conditions instead of sleeping: a test waits for the state it needs (a count, a
 * registry entry, a log line) and, when that state never comes, fails saying what it waited
 * for and the last value it saw, so a failure on a loaded machine can be told from a bug.
 */

/** How long to wait and what to call the awaited state in the failure message. */
export interface WaitOptions {
  /** Give up after this many ms (default 10 s). */
  readonly timeoutMs?: number;
  /** What the test waits for, in words: "the 3 nodes to agree on the members". */
  readonly what?: string;
  /** Pause between two reads (default 20 ms). */
  readonly intervalMs?: number;
  /**
   * Count a read that throws as "not yet" (the error is the last value seen) instead of
   * failing at once: for a service that is still starting. Off by default.
   */
  readonly retryErrors?: boolean;
}

/** Thrown when a condition is not met in time; carries the last value seen. */
export class WaitTimeout extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly last: unknown,
  ) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${describe(last)}`);
    this.name = "WaitTimeout";
  }
}

/**
 * Waits until `check()` is true, polling every 20 ms; throws a {@link WaitTimeout} naming
 * the check after `timeoutMs` (or `options.timeoutMs`).
 *
 * @example
 * await until(() => received.length === 3, { what: "3 events" });
 */
export async function until(check: () => boolean | Promise<boolean>, options: number | WaitOptions = {}): Promise<void> {
  const what = typeof options === "number" ? undefined : options.what;
  await eventually(check, (ok) => ok, { ...(typeof options === "number" ? { timeoutMs: options } : options), what: what ?? `${check}` });
}

/**
 * Reads `read()` until `accept(value)` holds and returns that value; after the timeout it
 * throws a {@link WaitTimeout} with the last value read. A read that throws fails the wait
 * at once, unless `options.retryErrors`.
 *
 * @example
 * const nodes = await eventually(() => registry.getService("greeter"), (s) => s.length === 1, { what: "greeter registered" });
 */
export async function eventually<T>(read: () => T | Promise<T>, accept: (value: T) => boolean, options: WaitOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  // The monotonic clock: a wall clock stepped forward (a VM resumed, NTP) must not end a wait early.
  const end = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await read();
      if (accept(value)) return value;
      last = value;
    } catch (error) {
      if (!options.retryErrors) throw error;
      last = error;
    }
    if (performance.now() > end) throw new WaitTimeout(options.what ?? `${accept}`, timeoutMs, last);
    await Bun.sleep(options.intervalMs ?? 20);
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? `${v}n` : v));
    return text === undefined ? String(value) : text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
  } catch {
    return String(value);
  }
}
