/**
 * An async iterator that opens its source on the first `next()` and then hands every call
 * straight to the source's iterator: what `async function* () { yield* await open() }` does,
 * without the generator's extra promise turns on every message of a busy stream.
 * @module
 */

const finished: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** Iterates what `open` resolves to; `open` runs once, on the first `next()`. */
export function lazyIterator<T>(open: () => Promise<AsyncIterable<T>>): AsyncIterableIterator<T, undefined> {
  let inner: AsyncIterator<T> | undefined;
  let opening: Promise<AsyncIterator<T>> | undefined;
  let done = false;
  const start = (): Promise<AsyncIterator<T>> =>
    (opening ??= open().then(
      (source) => (inner = source[Symbol.asyncIterator]()),
      (error: unknown) => {
        done = true;
        throw error;
      },
    ));
  return {
    next(): Promise<IteratorResult<T, undefined>> {
      if (done) return Promise.resolve(finished);
      if (inner !== undefined) return inner.next() as Promise<IteratorResult<T, undefined>>;
      return start().then((it) => (done ? finished : (it.next() as Promise<IteratorResult<T, undefined>>)));
    },
    async return(): Promise<IteratorResult<T, undefined>> {
      if (done) return finished;
      done = true;
      // Still opening: the source is stopped once it is there, so its stream is canceled.
      const it = inner ?? (opening === undefined ? undefined : await opening.catch(() => undefined));
      await it?.return?.();
      return finished;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
