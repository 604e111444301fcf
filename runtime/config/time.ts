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

/** `2h` (ago), `2026-11-29T10:00:00Z`, or epoch ms → epoch ms. */
export function parseTimePoint(what: string, text: string, now = Date.now()): number {
  if (/^\d{12,}$/.test(text)) return Number(text);
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(text)) return now - parseDuration(what, text);
  const parsed = Date.parse(text);
  if (Number.isNaN(parsed)) {
    throw new MicroError("invalid_argument", `${what} must be a duration ago (2h), an ISO time (2026-11-29T10:00:00Z) or epoch ms, got "${text}"`, { detail: what });
  }
  return parsed;
}
