/**
 * Deadlines on the wire: the caller sends how long it will still wait (`Micro-Timeout`, ms);
 * the server derives its handler's deadline from the arrival time.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { timeoutHeader } from "./headers.ts";
import { maxTimeoutMs } from "./limits.ts";

/**
 * The deadline (epoch ms) of a call that arrived at `arrived` with `Micro-Timeout: header`,
 * or `arrived + fallbackMs` for raw callers that sent none. `invalid_argument` for a value
 * that is not a number, `deadline_exceeded` for one with no time left.
 */
export function deadlineFromHeader(header: string | undefined, arrived: number, fallbackMs: number): number {
  if (!header) return arrived + fallbackMs;
  const ms = Number(header);
  if (!Number.isFinite(ms)) {
    throw new MicroError("invalid_argument", `${timeoutHeader} must be a number of milliseconds, got "${header.slice(0, 40)}"`, { detail: timeoutHeader });
  }
  if (ms <= 0) throw new MicroError("deadline_exceeded", `the call arrived with no time left (${timeoutHeader}: ${header})`);
  // Timers cannot wait longer than maxTimeoutMs; nobody waits that long for a reply anyway.
  return arrived + Math.min(ms, maxTimeoutMs);
}

/** Throws `invalid_argument` unless `timeoutMs` is a number of ms above 0 and at most {@link maxTimeoutMs}. */
export function assertTimeout(timeoutMs: unknown, what = "timeoutMs"): asserts timeoutMs is number {
  if (typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs <= maxTimeoutMs) return;
  throw new MicroError("invalid_argument", `${what} must be a number of ms above 0 and at most ${maxTimeoutMs}, got ${String(timeoutMs).slice(0, 40)}`, { detail: what });
}

/** The `Micro-Timeout` value for a call with `deadline`: whole ms left, at least 1. */
export function timeoutValue(deadline: number, now = Date.now()): string {
  return String(Math.max(1, Math.ceil(deadline - now)));
}
