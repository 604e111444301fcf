/**
 * KV writes that ride out stream leader elections and reconnects, as `publishDurably` does for
 * stream publishes. A KV write is a JetStream publish: while the bucket's stream elects a new
 * leader it fails fast ("no responders") or times out, both temporary, so it is retried with
 * backoff until a deadline. A revision conflict is never retried: another writer got there
 * first, which is what the revision check is for.
 *
 * One subtlety makes a retry of a revision-checked write safe: an attempt that timed out may
 * have been stored, and its retry then meets its own write as a conflict. So after a failed
 * attempt, a conflict is checked against the entry: when it holds exactly the bytes this write
 * put there, the write did go through (at that revision); anything else is a real conflict.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { publishFailure } from "./durable-publish.ts";

const firstBackoffMs = 25;
const maxBackoffMs = 500;

/** The writes of a KV bucket {@link writeDurably} uses (a nats.js `KV`, or a stand-in for tests). */
export interface WritableBucket {
  get(key: string): Promise<{ readonly operation: string; readonly revision: number; string(): string } | null>;
  create(key: string, value: string): Promise<number>;
  update(key: string, value: string, revision: number): Promise<number>;
  put?(key: string, value: string): Promise<number>;
}

/** True when a KV write failed because another writer got there first (revision check). */
export function isRevisionConflict(error: unknown): boolean {
  const text = String((error as Error)?.message ?? error);
  return /wrong last sequence|key exists|10071/i.test(text);
}

/**
 * Writes `value` at `key`: created when `revision` is 0, else updated only if the entry is
 * still at `revision`; `undefined` puts without a check. Temporary failures are retried with
 * backoff (25 ms doubling to 500 ms) until `deadline` (epoch ms). Resolves with the new
 * revision; rejects with the revision conflict as nats.js reports it (see
 * {@link isRevisionConflict}), or with `unavailable` naming why once the deadline has passed.
 *
 * @example
 * const revision = await writeDurably(kv, "micro.cart.c1", JSON.stringify(state), 41, Date.now() + 10_000);
 */
export async function writeDurably(kv: WritableBucket, key: string, value: string, revision: number | undefined, deadline: number): Promise<number> {
  const started = Date.now();
  let backoff = firstBackoffMs;
  let retried = false;
  for (let attempt = 1;; attempt++) {
    try {
      if (revision === undefined) {
        if (kv.put === undefined) throw new MicroError("internal", `writing ${key} without a revision check needs a bucket with put`);
        return await kv.put(key, value);
      }
      return revision === 0 ? await kv.create(key, value) : await kv.update(key, value, revision);
    } catch (cause) {
      if (isRevisionConflict(cause)) {
        // A conflict after an attempt that may have been stored: is the entry our own write?
        if (retried) {
          const mine = await ownWrite(kv, key, value);
          if (mine !== undefined) return mine;
        }
        throw cause;
      }
      const failure = publishFailure(cause);
      const wait = Math.min(backoff, maxBackoffMs) * (0.5 + Math.random() / 2);
      if (!failure.retry || Date.now() + wait >= deadline) {
        throw new MicroError("unavailable", `writing ${key}: ${failure.reason} (${attempt} attempt(s) in ${Date.now() - started} ms)`, { cause });
      }
      retried = true;
      await new Promise((resolve) => setTimeout(resolve, wait));
      backoff *= 2;
    }
  }
}

/** The entry's revision when it holds exactly `value` (our earlier attempt was stored), else undefined. */
async function ownWrite(kv: WritableBucket, key: string, value: string): Promise<number | undefined> {
  const entry = await kv.get(key).catch(() => null);
  return entry !== null && entry.operation === "PUT" && entry.string() === value ? entry.revision : undefined;
}
