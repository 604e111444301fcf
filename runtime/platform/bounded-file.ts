/**
 * Reading a file a user names (a request, the config file, a credentials or TLS file) with a
 * bound: `stat` gives 0 as the size of a device or a `/proc` file, so a size check first let
 * `@/dev/zero` (or `NATS_CREDS=/dev/zero`) be read until memory ran out.
 * @module
 */
import { closeSync, openSync, readSync } from "node:fs";

/**
 * The file's bytes, at most `maxBytes + 1` of them whatever the file claims to be: a result
 * longer than `maxBytes` means the file is over the bound. Errors of the file system (no such
 * file, permission denied) are thrown as they are, for the caller to name the setting.
 */
export function readFileBounded(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, "r");
  const buffer = Buffer.alloc(maxBytes + 1);
  let size = 0;
  try {
    for (let n = -1; n !== 0 && size < buffer.length; size += n) n = readSync(fd, buffer, size, buffer.length - size, null);
  } finally {
    closeSync(fd);
  }
  return buffer.subarray(0, size);
}
