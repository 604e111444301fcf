/**
 * Trace and span ids for jetmicro's own spans: random, as W3C Trace Context asks, cut as
 * lowercase hex from a pool of random bytes refilled 4 KiB at a time: one `getRandomValues` and
 * one native hex conversion per 170 spans, and per id a substring of that text (the engines
 * share a substring's characters with its source; one hex conversion per id cost several times
 * as much, and ids built of two-digit pieces were copied together again by every reader). The
 * OpenTelemetry SDK's generator calls `Math.random` per byte. Never all zeros, which W3C
 * reserves for "no id".
 * @module
 */
import { Buffer } from "node:buffer";

const pool = Buffer.alloc(4096);
let text = "";
let at = pool.length;

function idOf(bytes: number): string {
  if (at + bytes > pool.length) {
    crypto.getRandomValues(pool);
    text = pool.toString("hex");
    at = 0;
  }
  const from = at;
  at += bytes;
  for (let i = from; i < at; i++) if (pool[i] !== 0) return text.slice(from * 2, at * 2);
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
