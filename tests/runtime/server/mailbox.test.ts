import { describe, expect, it } from "bun:test";
import { Mailbox } from "../../../runtime/server/mailbox.ts";

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe("mailbox", () => {
  it("runs at most `concurrency` jobs and queues the rest in order", async () => {
    const g = gate();
    const started: number[] = [];
    const mailbox = new Mailbox<number>(10, 2, async (n) => {
      started.push(n);
      await g.opened;
    });
    for (const n of [1, 2, 3, 4]) expect(mailbox.offer(n)).toBe(true);
    expect(started).toEqual([1, 2]);
    expect(mailbox.running).toBe(2);
    expect(mailbox.depth).toBe(2);
    g.open();
    await mailbox.idle();
    expect(started).toEqual([1, 2, 3, 4]);
    expect(mailbox.running).toBe(0);
  });

  it("refuses work past its capacity instead of growing", async () => {
    const g = gate();
    const mailbox = new Mailbox<number>(1, 1, () => g.opened);
    expect(mailbox.offer(1)).toBe(true); // running
    expect(mailbox.offer(2)).toBe(true); // queued
    expect(mailbox.offer(3)).toBe(false);
    expect(mailbox.depth).toBe(1);
    g.open();
    await mailbox.idle();
    expect(mailbox.offer(4)).toBe(true);
    await mailbox.idle();
  });

  it("keeps going after a job rejects", async () => {
    const done: number[] = [];
    const mailbox = new Mailbox<number>(5, 1, async (n) => {
      if (n === 1) throw new Error("boom");
      done.push(n);
    });
    mailbox.offer(1);
    mailbox.offer(2);
    await mailbox.idle();
    expect(done).toEqual([2]);
  });

  it("is idle at once when empty", async () => {
    const mailbox = new Mailbox<number>(1, 1, async () => {});
    await mailbox.idle();
    expect(mailbox.depth).toBe(0);
  });
});
