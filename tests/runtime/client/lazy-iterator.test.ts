import { describe, expect, it } from "bun:test";
import { lazyIterator } from "../../../runtime/client/lazy-iterator.ts";

/** A source that records whether it was returned (a stream's cancel). */
function source(values: number[]) {
  const seen = { returned: 0 };
  const iterable: AsyncIterable<number> = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: async () => (i < values.length ? { done: false, value: values[i++]! } : { done: true, value: undefined }),
        return: async () => {
          seen.returned++;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { iterable, seen };
}

describe("lazy stream iterator", () => {
  it("opens the stream on the first next(), not before, and yields every message", async () => {
    const { iterable } = source([1, 2, 3]);
    let opened = 0;
    const it = lazyIterator(async () => (opened++, iterable));
    expect(opened).toBe(0);
    const got: number[] = [];
    for await (const v of { [Symbol.asyncIterator]: () => it }) got.push(v);
    expect([opened, got]).toEqual([1, [1, 2, 3]]);
  });

  it("a break while the stream is still opening cancels it once it is open", async () => {
    const { iterable, seen } = source([1, 2, 3]);
    let release!: () => void;
    const it = lazyIterator(() => new Promise<AsyncIterable<number>>((resolve) => (release = () => resolve(iterable))));
    const first = it.next();
    const stopped = it.return!();
    release();
    expect(await first).toEqual({ done: true, value: undefined });
    await stopped;
    expect(seen.returned).toBe(1);
  });

  it("a failed open rejects the first next() and ends the iteration", async () => {
    const it = lazyIterator<number>(async () => {
      throw new Error("no service");
    });
    await expect(it.next()).rejects.toThrow("no service");
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });
});
