/**
 * An open-loop load for `gateway-hostile.ts`: requests started at a fixed rate whatever the
 * answers do, as users arrive at a service, where `runMix` (`tests/gateway/hostile-mix.ts`) is a
 * closed loop that sends the next request when the last one answered and so always runs the
 * gateway flat out. The closed loop measures what attacks cost at the limit of the machine;
 * this one what they cost the normal calls of a given load below it: whether those calls are
 * still all served, and how much slower.
 *
 * The normal calls are due at `normalPerSecond`; with `hostileEvery` (10) every tenth request is
 * one of `cases` besides (so 10 % of all requests, on top of the normal ones, never instead of
 * them). They are sent over a fixed number of connections, as the closed loop's, each sending
 * the next request due when its time has come (or at once when it is late). Latency is taken
 * from when a call was due, not when it was sent, so time a request waited for a connection
 * counts (no coordinated omission).
 * @module
 */
import { type HostileCase, normalCall } from "../tests/gateway/hostile-mix.ts";
import { LatencyRecorder } from "./stats.ts";

/** How {@link runOpenLoop} drives the load. */
export interface OpenLoopOptions {
  /** The gateway, `http://127.0.0.1:port`. */
  readonly base: string;
  /** Normal calls due per second. */
  readonly normalPerSecond: number;
  /** Every `hostileEvery`-th request is hostile, in addition to the normal calls; 0 for none. */
  readonly hostileEvery: number;
  readonly cases: readonly HostileCase[];
  /** Requests are due for this long; the run ends when the last one due has been answered. */
  readonly durationMs: number;
  /** Connections, each sending one request at a time (32, as the closed loop). */
  readonly connections?: number;
  /** Where to record the normal calls' latencies (a new recorder if not given): slices of one run can share one. */
  readonly latencies?: LatencyRecorder;
}

/** What one open-loop run saw. */
export interface OpenLoopResult {
  readonly normalOk: number;
  /** Normal calls that failed or hung. */
  readonly normalFailed: number;
  /** Hostile requests that did not get their case's status. */
  readonly hostileWrong: number;
  /** Latencies of the normal calls that succeeded, µs from when each was due. */
  readonly latencies: LatencyRecorder;
  /** From the first request due to the last answer. */
  readonly elapsedMs: number;
}

/**
 * Sends the requests due in `durationMs` over `connections` workers, each taking the next request
 * due and waiting for its time if it is early; one that is late is sent at once (a gateway that
 * falls behind makes the run longer, and its calls later, which the served rate and the
 * latencies show).
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { base, hostileEvery, cases, durationMs } = options;
  // Requests of every kind per ms: normal ones at their rate, plus one hostile per (hostileEvery - 1) normal.
  const perMs = (options.normalPerSecond / 1000) * (hostileEvery > 0 ? hostileEvery / (hostileEvery - 1) : 1);
  const total = Math.floor(durationMs * perMs);
  const latencies = options.latencies ?? new LatencyRecorder();
  let [normalOk, normalFailed, hostileWrong] = [0, 0, 0];
  let next = 0;
  const began = performance.now();
  const worker = async () => {
    while (next < total) {
      const n = next++;
      const dueAt = began + n / perMs;
      const early = dueAt - performance.now();
      if (early >= 1) await new Promise((resolve) => setTimeout(resolve, early));
      const signal = AbortSignal.timeout(10_000);
      if (hostileEvery > 0 && (n + 1) % hostileEvery === 0) {
        const c = cases[Math.floor(n / hostileEvery) % cases.length]!;
        const status = await c.send(base, signal).catch(() => -1);
        if (status !== c.expected) hostileWrong++;
      } else {
        const problem = await normalCall(base, n, signal).catch((e: Error) => e.message);
        if (problem === undefined) {
          normalOk++;
          latencies.record((performance.now() - dueAt) * 1000);
        } else normalFailed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections ?? 32 }, worker));
  return { normalOk, normalFailed, hostileWrong, latencies, elapsedMs: performance.now() - began };
}
