import { Counter } from "../gen/counter/v1/counter_pb.ts";
import { defineService, MicroError } from "../runtime/mod.ts";

const maxCount = 10_000_000;
const maxPayload = 512 * 1024;

/**
 * The streaming example: `count` is a server stream, `sum` a client stream, `echo` a
 * bidirectional stream. Handlers are plain async code; `ctx.signal` stops `count` early.
 */
export default defineService(Counter, { version: "1.0.0" }, {
  async *count(request, ctx) {
    if (request.to > maxCount) throw new MicroError("invalid_argument", `to must be at most ${maxCount}`, { detail: "to" });
    if (request.payloadBytes > maxPayload) throw new MicroError("invalid_argument", `payload_bytes must be at most ${maxPayload}`, { detail: "payload_bytes" });
    const payload = new Uint8Array(request.payloadBytes);
    for (let n = 1; n <= request.to; n++) {
      if (request.intervalMs > 0 && n > 1) await sleep(request.intervalMs, ctx.signal);
      yield { n, payload };
    }
  },

  async sum(requests) {
    let sum = 0;
    let count = 0;
    for await (const { value } of requests) {
      sum += value;
      count++;
    }
    return { sum, count };
  },

  async *echo(requests) {
    let seq = 0;
    for await (const { text } of requests) yield { text, seq: ++seq };
  },
});

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
