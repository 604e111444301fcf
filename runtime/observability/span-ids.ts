/**
 * Random ids for jetmicro's own spans, as W3C Trace Context asks: read as 32-bit words from a
 * pool of random bytes refilled 4 KiB at a time (one `getRandomValues` per 170 spans; the
 * OpenTelemetry SDK's generator calls `Math.random` per byte and makes a hex string per id).
 * No text is made: headers, span records and sampling are written from the words, and a span's
 * `traceparent` text only when something reads it. Never all zeros, which W3C reserves for "no id".
 * @module
 */
import type { RandomIds } from "../protocol/mod.ts";

const pool = new Uint8Array(4096);
const view = new DataView(pool.buffer);
let at = pool.length;
const words = new Uint32Array(4);

function next(bytes: 8 | 16): void {
  for (;;) {
    if (at + bytes > pool.length) {
      crypto.getRandomValues(pool);
      at = 0;
    }
    let any = 0;
    for (let i = 0; i < bytes >> 2; i++, at += 4) any |= words[i] = view.getUint32(at);
    if (any !== 0) return;
  }
}

/** The process's random ids. */
export const randomIds: RandomIds = { next, words };
