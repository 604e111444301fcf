/**
 * The secret of the nats-server jetmicro starts for development. Without one, any process on
 * the machine could publish straight to services and bypass the gateway's auth; with one, only
 * who can read the file (mode 0600, its folder 0700) gets in. jetmicro's own processes read it
 * by themselves for a loopback server when no other credentials are set (`connect-options.ts`).
 * @module
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

/** The secret in `file`, or undefined when there is none (not yet generated, or unreadable). */
export function readDevSecret(file: string): string | undefined {
  try {
    const secret = readFileSync(file, "utf8").trim();
    return secret === "" ? undefined : secret;
  } catch {
    return undefined;
  }
}

/**
 * The secret in `file`, generated (256 random bits) when missing. The file is kept, so a
 * server found again on the next run still takes the same secret. Mode 0600 is (re)applied
 * either way: a file copied with looser rights is tightened.
 */
export function ensureDevSecret(file: string): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let secret = readDevSecret(file);
  if (secret === undefined) {
    secret = randomBytes(32).toString("base64url");
    writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "w" });
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return secret;
}

/**
 * Writes a nats-server config file (mode 0600, beside the secret) that requires `secret` as
 * the token, and returns its path. The token goes in a file, not on the command line, where
 * any local user could read it with `ps`.
 */
export function writeDevServerConfig(secretFile: string, secret: string): string {
  const path = join(dirname(secretFile), "nats-server.conf");
  // base64url holds no character that needs quoting in the server's config syntax.
  writeFileSync(path, `authorization {\n  token: "${secret}"\n}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
