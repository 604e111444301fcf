/**
 * The messages of a stream as an async iterator that answers from the channel's buffer while
 * it holds frames: one settled promise per message, no async generator (whose every step costs
 * several promise turns) and no promise from the channel. Both the client's responses and the
 * server's request stream read through it.
 * @module
 */
import type { StreamChannel } from "./channel.ts";

const finished: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/** An async iterator over a stream's messages; `return()` always exists (it stops the reading). */
export interface MessageReader<T> extends AsyncIterableIterator<T, undefined> {
  return(): Promise<IteratorResult<T, undefined>>;
}

/**
 * Iterates the data frames of `channel`, each mapped through `decode`. `finish` runs once when
 * the iteration stops: `completed` is true after the peer's `end`, false when the reader left
 * early (`break`, `return()`), `decode` threw or the stream failed (whose failure is thrown).
 */
export function channelReader<T>(channel: StreamChannel, decode: (data: Uint8Array) => T, finish: (completed: boolean) => void): MessageReader<T> {
  let done = false;
  /** The read waiting for data, if any: a next() called meanwhile queues behind it, keeping order. */
  let pending: Promise<IteratorResult<T, undefined>> | undefined;
  const stop = (completed: boolean) => {
    if (done) return;
    done = true;
    finish(completed);
  };
  const deliver = (data: Uint8Array | undefined): IteratorResult<T, undefined> => {
    if (data === undefined) {
      stop(true);
      return finished;
    }
    try {
      return { done: false, value: decode(data) };
    } catch (error) {
      stop(false);
      throw error;
    }
  };
  const next = (): Promise<IteratorResult<T, undefined>> => {
    if (done) return Promise.resolve(finished);
    if (pending !== undefined) return (pending = pending.then(next, next));
    const data = channel.readNow();
    if (data !== null) {
      try {
        return Promise.resolve(deliver(data));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const read = channel.read().then(deliver, (error: unknown) => {
      stop(false);
      throw error;
    });
    pending = read;
    const clear = () => {
      if (pending === read) pending = undefined;
    };
    read.then(clear, clear);
    return read;
  };
  return {
    next,
    return(): Promise<IteratorResult<T, undefined>> {
      stop(false);
      return Promise.resolve(finished);
    },
    throw(error?: unknown): Promise<IteratorResult<T, undefined>> {
      stop(false);
      return Promise.reject(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
