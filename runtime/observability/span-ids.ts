/**
 * Trace and span ids for jetmicro's own spans: random, as W3C Trace Context asks, read as
 * lowercase hex from a pool of random bytes refilled 4 KiB at a time (one `getRandomValues`
 * per 170 spans instead of one per id; the OpenTelemetry SDK's generator calls `Math.random`
 * per byte). Each id is one native hex conversion: a flat string, where one built of two-digit
 * pieces would be copied together again by the first reader of every `traceparent`. Never
 * all zeros, which W3C reserves for "no id".
 * @module
 */
import { Buffer } from "node:buffer";

const pool = Buffer.alloc(4096);
let at = pool.length;

function idOf(bytes: number): string {
  if (at + bytes > pool.length) {
    crypto.getRandomValues(pool);
    at = 0;
  }
  const from = at;
  at += bytes;
  for (let i = from; i < at; i++) if (pool[i] !== 0) return pool.toString("hex", from, at);
  return idOf(bytes);
}

/** A new span id: 16 lowercase hex characters. */
export function newSpanId(): string {
  return idOf(8);
}

/** A new trace id: 32 lowercase hex characters. */
export function newTraceId(): string {
  return idOf(16);
}
