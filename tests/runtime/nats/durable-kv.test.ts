/**
 * KV writes that ride out elections: temporary failures are retried until the deadline, a
 * revision conflict never is, and a conflict met by the retry of an attempt that was stored
 * after all counts as the write's own success.
 */
import { describe, expect, it } from "bun:test";
import { Kvm } from "@nats-io/kv";
import { MicroError } from "../../../runtime/mod.ts";
import { isRevisionConflict, type WritableBucket, writeDurably } from "../../../runtime/nats/durable-kv.ts";
import { withNats } from "../../support/nats.ts";

const { conn } = withNats();

/** A real bucket whose first `failures` writes fail like an election does (`stored`: after storing). */
function flaky(kv: WritableBucket, failures: number, error: () => Error, stored = false): WritableBucket & { attempts: number } {
  const bucket = {
    attempts: 0,
    get: (key: string) => kv.get(key),
    put: (key: string, value: string) => kv.put!(key, value),
    create: (key: string, value: string) => bucket.wrap(() => kv.create(key, value)),
    update: (key: string, value: string, revision: number) => bucket.wrap(() => kv.update(key, value, revision)),
    async wrap(write: () => Promise<number>): Promise<number> {
      bucket.attempts++;
      if (bucket.attempts > failures) return await write();
      if (stored) await write();
      throw error();
    },
  };
  return bucket;
}

const noResponders = () => new Error("no responders: '$KV.b.k'");
const timeout = () => Object.assign(new Error("timeout"), { name: "TimeoutError" });

describe("writeDurably", () => {
  it("retries writes that found no stream leader until one goes through", async () => {
    const kv = await new Kvm(conn.nc).create("durable_kv_a");
    const bucket = flaky(kv, 3, noResponders);
    const revision = await writeDurably(bucket, "k", "v1", 0, Date.now() + 5000);
    expect(bucket.attempts).toBe(4);
    expect((await kv.get("k"))?.revision).toBe(revision);
    expect((await kv.get("k"))?.string()).toBe("v1");
  });

  it("takes a conflict after a timed-out attempt that was stored as its own write", async () => {
    const kv = await new Kvm(conn.nc).create("durable_kv_b");
    const first = await kv.create("k", "v1");
    const bucket = flaky(kv, 1, timeout, true);
    const revision = await writeDurably(bucket, "k", "v2", first, Date.now() + 5000);
    expect(bucket.attempts).toBe(2);
    expect(revision).toBe((await kv.get("k"))!.revision);
    expect((await kv.get("k"))?.string()).toBe("v2");
  });

  it("rejects a real conflict at once, even after a retry", async () => {
    const kv = await new Kvm(conn.nc).create("durable_kv_c");
    const first = await kv.create("k", "v1");
    await kv.update("k", "someone else", first);
    const direct = await writeDurably(kv, "k", "v2", first, Date.now() + 5000).catch((e) => e);
    expect(isRevisionConflict(direct)).toBe(true);
    const bucket = flaky(kv, 1, timeout);
    const retried = await writeDurably(bucket, "k", "v2", first, Date.now() + 5000).catch((e) => e);
    expect(isRevisionConflict(retried)).toBe(true);
    expect(bucket.attempts).toBe(2);
    expect((await kv.get("k"))?.string()).toBe("someone else");
  });

  it("fails with unavailable saying why once the deadline has passed", async () => {
    const kv = await new Kvm(conn.nc).create("durable_kv_d");
    const started = Date.now();
    const error = await writeDurably(flaky(kv, 1000, noResponders), "k", "v", 0, Date.now() + 300).catch((e) => e);
    expect(MicroError.from(error).code).toBe("unavailable");
    expect(String(error.message)).toContain("no leader");
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
