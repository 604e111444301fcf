/**
 * Trace and span ids for jetmicro's own spans: random, as W3C Trace Context asks, read as
 * lowercase hex from a pool of random bytes refilled 4 KiB at a time (one `getRandomValues`
 * per 256 spans instead of one per id; the OpenTelemetry SDK's generator calls `Math.random`
 * per byte). Never all zeros, which W3C reserves for "no id".
 * @module
 */

/** Two hex digits per byte value. */
const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const pool = new Uint8Array(4096);
let at = pool.length;

function idOf(bytes: number): string {
  if (at + bytes > pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  let id = "";
  let any = 0;
  for (const end = at + bytes; at < end; at++) {
    any |= pool[at]!;
    id += hex[pool[at]!];
  }
  return any === 0 ? idOf(bytes) : id;
}

/** A new span id: 16 lowercase hex characters. */
export function newSpanId(): string {
  return idOf(8);
}

/** A new trace id: 32 lowercase hex characters. */
export function newTraceId(): string {
  return idOf(16);
}
