import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { metadataPrefix } from "../wire/headers.ts";

const keyPattern = /^[A-Za-z0-9_-]+$/;
const badValue = /[\r\n]/;

/** Writes metadata as `Micro-Meta-<key>` headers, refusing keys or values headers cannot carry. */
export function writeMetadata(headers: MsgHdrs, metadata: Readonly<Record<string, string>>): void {
  for (const key in metadata) {
    const value = metadata[key]!;
    if (!keyPattern.test(key)) {
      throw new MicroError("invalid_argument", `metadata key "${key}" may only hold letters, digits, "-" and "_"`, { detail: key });
    }
    if (typeof value !== "string" || badValue.test(value)) {
      throw new MicroError("invalid_argument", `metadata "${key}" must be a string without line breaks`, { detail: key });
    }
    headers.set(metadataPrefix + key, value);
  }
}

/** Reads `Micro-Meta-*` headers back into a record (keys as {@link writeMetadata} allows them). */
export function readMetadata(headers: MsgHdrs | undefined): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (headers === undefined) return metadata;
  for (const [key, values] of headers) {
    if (!key.startsWith(metadataPrefix) || values[0] === undefined) continue;
    const name = key.slice(metadataPrefix.length);
    // Keys jetmicro could not send on (a raw caller's `user.id`) are dropped, so nested calls still work.
    if (keyPattern.test(name)) metadata[name] = values[0];
  }
  return metadata;
}
