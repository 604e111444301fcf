/**
 * Bounds on what HTTP callers put into events and calls, checked at the edge so a hostile
 * value is a 400 naming the header before anything reaches NATS. Names that become subjects
 * (services, endpoints, topics, namespaces) are checked by `runtime/protocol/`; this module
 * covers the header values the gateway passes on as event fields.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";

/**
 * Longest event user, in UTF-8 bytes. The audit service indexes events under a subject token
 * made from the user (base64url when it is not a plain token): 128 bytes stay well inside a
 * token's 256 characters once encoded.
 */
export const maxEventUserBytes = 128;
/** Longest event id or event source, in characters. */
export const maxEventFieldLength = 256;

// One line of printable text: header values with control characters are never legitimate here.
const controlCharacter = /[\x00-\x1f\x7f]/;
const encoder = new TextEncoder();

/**
 * An event user (`""` when absent) named `what` in errors (`header X-Micro-User`);
 * `invalid_argument` when it is longer than {@link maxEventUserBytes} or not one line.
 */
export function eventUser(value: string | undefined, what: string): string {
  if (value === undefined) return "";
  if (controlCharacter.test(value)) throw invalid(what, value, "must be one line of text");
  if (encoder.encode(value).length > maxEventUserBytes) throw invalid(what, value, `is longer than ${maxEventUserBytes} bytes`);
  return value;
}

/** An event id or source named `what` in errors; `invalid_argument` when it is too long or not one line. */
export function eventField(value: string | undefined, what: string): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (controlCharacter.test(value)) throw invalid(what, value, "must be one line of text");
  if (value.length > maxEventFieldLength) throw invalid(what, value, `is longer than ${maxEventFieldLength} characters`);
  return value;
}

/**
 * A timeout header's value in ms: ASCII digits only, at most 10 (Connect's rule for
 * `Connect-Timeout-Ms`; ~115 days), above 0. `Number()` alone would take `0x10`, `1e3`, `+5`
 * or ` 7 ` as numbers; anything but plain digits is `invalid_argument` naming `header`.
 */
export function timeoutMsOf(value: string, header: string): number {
  const ms = /^[0-9]{1,10}$/.test(value) ? Number(value) : 0;
  if (ms <= 0) throw new MicroError("invalid_argument", `${header} must be a whole number of ms above 0 (at most 10 digits), got "${shown(value)}"`, { detail: header });
  return ms;
}

/** The timeout a caller asked for with header `header` ({@link timeoutMsOf}), at most `max`; `max` when absent. */
export function timeoutFrom(value: string | undefined, header: string, max: number): number {
  return value === undefined ? max : Math.min(timeoutMsOf(value, header), max);
}

function invalid(what: string, value: string, problem: string): MicroError {
  return new MicroError("invalid_argument", `${what} "${shown(value)}" ${problem}`, { detail: what });
}
