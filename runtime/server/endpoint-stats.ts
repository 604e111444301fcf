/**
 * Counters of one endpoint of a service instance, as `$SRV.STATS` reports them: requests,
 * errors, total handler time, the last error and a ring of recent handler times for
 * percentiles. Unary calls count through {@link ./stats-interceptor.ts}; a stream counts as
 * one request whose handler time is its lifetime.
 * @module
 */
import type { MicroError } from "../errors/micro-error.ts";
import { limitText } from "../protocol/mod.ts";

/** Counters of one endpoint (and one more, under `""`, for calls to unknown endpoints). */
export interface EndpointStats {
  requests: number;
  errors: number;
  /** Total handler time (decode, handler, encode) in nanoseconds. */
  processingNs: number;
  /** The message of the last error, "" if none. */
  lastError: string;
  /** Handler times in ms of the latest calls (a ring of {@link recentSize}), for percentiles. */
  readonly recent: Float64Array;
}

/** How many recent handler times each endpoint keeps for percentiles. */
export const recentSize = 1024;

/** Fresh counters. */
export function newStats(): EndpointStats {
  return { requests: 0, errors: 0, processingNs: 0, lastError: "", recent: new Float64Array(recentSize) };
}

/**
 * Adds the time of a call that began at `began` (a `performance.now()`); counted on entry.
 * Returns that time in ms, for the service's observers.
 */
export function recordTime(stats: EndpointStats, began: number): number {
  const ms = performance.now() - began;
  stats.processingNs += ms * 1e6;
  // requests was counted on entry, so this call's slot is requests - 1.
  stats.recent[(stats.requests - 1) % recentSize] = ms;
  return ms;
}

/** Counts a failed call and keeps its error as the last one. */
export function recordError(stats: EndpointStats, error: MicroError): void {
  stats.errors++;
  stats.lastError = limitText(`${error.code}: ${error.message}`);
}

/** The `p`-th percentile (0-100) of the recent handler times, in ms (0 before any call). */
export function percentile(stats: EndpointStats, p: number): number {
  const count = Math.min(stats.requests, recentSize);
  if (count === 0) return 0;
  const sorted = stats.recent.slice(0, count).sort();
  return sorted[Math.min(count - 1, Math.floor((p / 100) * count))]!;
}
