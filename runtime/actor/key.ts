/**
 * Actor keys: where they sit in a request, what they may look like, and which shard owns them.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { assertActorKey } from "../protocol/mod.ts";

/** The longest key. */
export const maxKeyLength = 200;

/**
 * The key of a request, or `invalid_argument` naming the field when it is missing or
 * malformed (a key is one subject token: letters, digits, "-", "_" or "=").
 */
export function requestKey(request: Record<string, unknown>, localName: string, field: string): string {
  const key = request[localName];
  if (typeof key !== "string" || key === "") {
    throw new MicroError("invalid_argument", `${field} is required: it is the key of the actor`, { detail: field });
  }
  assertKey(key, field);
  return key;
}

/** Throws `invalid_argument` naming `field` unless `key` is a well-formed key. */
export function assertKey(key: string, field: string): void {
  assertActorKey(key, field, maxKeyLength);
}

/** The shard of a key: FNV-1a, so every process agrees without coordination. */
export function shardOf(key: string, shards: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Rendezvous weight of a node for a shard: the live node with the highest weight owns it. */
export function placementWeight(nodeId: string, shard: number): number {
  // FNV alone barely mixes the last characters; murmur3's finaliser spreads them over all bits.
  let h = shardOf(`${nodeId}/${shard}`, 0x100000000) ^ Math.imul(shard + 1, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
