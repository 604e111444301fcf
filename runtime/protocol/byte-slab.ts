/**
 * Small byte arrays cut from shared 16 KiB slabs. On Node a `new Uint8Array(n)` above 64 bytes
 * gets a backing store of its own (an allocation outside the JS heap and its tracking: about
 * ten times the cost of the array below that size); a view into a slab is an ordinary object.
 * A slab is never reused: it is dropped when full and lives while any view of it does, so a
 * view stays valid however long its holder keeps it (nats.js holds written headers until it
 * flushes). Node's `Buffer.allocUnsafe` pool works the same way; this one is Web-standard.
 *
 * JavaScriptCore (Bun) is the other way round: a small `new Uint8Array(n)` lives in its garbage
 * collected heap and costs about 25 ns, while a view into an `ArrayBuffer` is a "wasteful"
 * typed array of its own kind, about 100 ns; there the arrays are made directly.
 * @module
 */

const slabSize = 16 * 1024;
/** Larger arrays are allocated on their own: they would waste a slab's end. */
const largest = 1024;
let slab = new ArrayBuffer(slabSize);
let used = 0;
/** Bun's engine, JavaScriptCore, where a direct small array is the cheap one (see the module comment). */
const directArrays = (globalThis as { Bun?: unknown }).Bun !== undefined;

/** A new array of `length` zero bytes (a slab is fresh, so its bytes start at zero), never shared with another. */
export function slabBytes(length: number): Uint8Array {
  if (length > largest || directArrays) return new Uint8Array(length);
  if (used + length > slabSize) {
    slab = new ArrayBuffer(slabSize);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  // Kept 8-byte aligned, so a view can be read through a DataView or a wider array.
  used += (length + 7) & ~7;
  return bytes;
}
