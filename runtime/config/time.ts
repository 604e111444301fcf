/**
 * Times people type (the CLI's flags, the gateway's query parameters): durations (`500ms`, `30s`, `2h`, `1d`) and points in time (a
 * duration ago, an ISO date, or epoch ms).
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `2h` → 7200000; a bare number is ms. `invalid_argument` naming `what` otherwise. */
export function parseDuration(what: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new MicroError("invalid_argument", `${what} must be a duration such as 500ms, 30s, 2h or 1d, got "${text}"`, { detail: what });
  return Math.round(Number(match[1]) * units[match[2] ?? "ms"]!);
}

/**
 * Longest time a timer takes (2^31 - 1 ms, about 24.8 days). Longer, Node, Bun and Deno fire it
 * after 1 ms: a timeout that long would end at once.
 */
export const maxTimerMs = 2_147_483_647;

/** A timeout such as `30s`: {@link parseDuration}, from 1 ms to {@link maxTimerMs}. */
export function parseTimeout(what: string, text: string): number {
  const ms = parseDuration(what, text);
  if (ms < 1 || ms > maxTimerMs) throw new MicroError("invalid_argument", `${what} must be from 1ms to ${maxTimerMs}ms (about 24 days), got "${text}"`, { detail: what });
  return ms;
}

/** `2h` (ago), `2026-11-29T10:00:00Z`, or epoch ms → epoch ms, from year 0 to 9999. */
export function parseTimePoint(what: string, text: string, now = Date.now()): number {
  if (/^\d{12,}$/.test(text)) return assertTimeInRange(what, Number(text));
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(text)) return assertTimeInRange(what, now - parseDuration(what, text));
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) {
    throw new MicroError("invalid_argument", `${what} must be a duration ago (2h), an ISO time (2026-11-29T10:00:00Z) or epoch ms, got "${text}"`, { detail: what });
  }
  return assertTimeInRange(what, parsed);
}

// RFC 3339, which JetStream reads, has years 0 to 9999 only.
const earliestMs = Date.parse("0000-01-01T00:00:00.000Z");
const latestMs = Date.parse("9999-12-31T23:59:59.999Z");

/** Whether `ms` (epoch) is a time from year 0 to 9999: what dates, RFC 3339 and JetStream can all hold. */
export function isTimeInRange(ms: number): boolean {
  return Number.isFinite(ms) && ms >= earliestMs && ms <= latestMs;
}

/**
 * `ms` (epoch) when it is a time from year 0 to 9999; `invalid_argument` naming `what` otherwise.
 * JetStream refuses other times as "invalid JSON", which would read as the stream being down.
 */
export function assertTimeInRange(what: string, ms: number): number {
  if (!isTimeInRange(ms)) {
    const year = Number.isFinite(ms) && !Number.isNaN(new Date(ms).getTime()) ? ` (year ${new Date(ms).getUTCFullYear()})` : "";
    throw new MicroError("invalid_argument", `${what} must be a time from year 0 to 9999, got ${ms}${year}`, { detail: what });
  }
  return ms;
}
