/**
 * Caller metadata on the wire: `Micro-Meta-<key>: <value>` headers, bounded in count and size.
 * @module
 */
import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { metadataPrefix } from "./headers.ts";
import { maxMetadataEntries, maxMetadataKeyLength, maxMetadataValueLength } from "./limits.ts";
import { shown } from "./subjects.ts";

const keyPattern = /^[A-Za-z0-9_-]+$/;
// Header values are one line of printable text: no control characters at all.
const badValue = /[\x00-\x08\x0a-\x1f\x7f]/;

/** True when `key` may be sent as metadata (letters, digits, "-", "_"; at most 64). */
export function isMetadataKey(key: string): boolean {
  return key.length > 0 && key.length <= maxMetadataKeyLength && keyPattern.test(key);
}

/**
 * Throws `invalid_argument` naming the entry unless `metadata` can travel as headers: at most
 * {@link maxMetadataEntries} entries, keys of letters, digits, "-" and "_", string values of
 * one line and at most {@link maxMetadataValueLength} characters.
 */
export function assertMetadata(metadata: Readonly<Record<string, unknown>>): void {
  let count = 0;
  for (const key in metadata) {
    if (++count > maxMetadataEntries) {
      throw new MicroError("invalid_argument", `metadata has more than ${maxMetadataEntries} entries`, { detail: "metadata" });
    }
    if (!isMetadataKey(key)) {
      throw new MicroError("invalid_argument", `metadata key "${shown(key)}" may only hold letters, digits, "-" and "_" (at most ${maxMetadataKeyLength})`, { detail: shown(key) });
    }
    const value = metadata[key];
    if (typeof value !== "string" || badValue.test(value)) {
      throw new MicroError("invalid_argument", `metadata "${key}" must be a string without line breaks or control characters`, { detail: key });
    }
    if (value.length > maxMetadataValueLength) {
      throw new MicroError("invalid_argument", `metadata "${key}" is longer than ${maxMetadataValueLength} characters`, { detail: key });
    }
  }
}

/** Writes metadata as `Micro-Meta-<key>` headers after {@link assertMetadata}. */
export function writeMetadata(headers: MsgHdrs, metadata: Readonly<Record<string, string>>): void {
  assertMetadata(metadata);
  for (const key in metadata) headers.set(metadataPrefix + key, metadata[key]!);
}

/** Reads `Micro-Meta-*` headers back into a record (keys as {@link writeMetadata} allows them). */
export function readMetadata(headers: MsgHdrs | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (headers === undefined) return metadata;
  let count = 0;
  for (const [key, values] of headers) {
    if (!key.startsWith(metadataPrefix) || values[0] === undefined) continue;
    const name = key.slice(metadataPrefix.length);
    // Keys jetmicro could not send on (a raw caller's `user.id`) are dropped, so nested calls still work.
    if (!isMetadataKey(name) || values[0].length > maxMetadataValueLength) continue;
    if (++count > maxMetadataEntries) break;
    metadata[name] = values[0];
  }
  return metadata;
}
