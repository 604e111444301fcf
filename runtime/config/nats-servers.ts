/**
 * The NATS server list a process connects to. `NATS_URL` may name one server or a cluster as
 * URLs separated by commas (`nats://a:4222,nats://b:4222,nats://c:4222`), and
 * `micro.config.json` may hold the same as a JSON list; every connection jetmicro makes splits
 * it here, so nats.js gets the whole list and reconnects across it rather than to the one URL
 * it would read out of an unsplit string. Each entry is checked, with bounds, because a typo
 * should fail at start with the entry named, not as a connect timeout minutes later.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";

/** Most servers a list may name (a cluster is 3-5 nodes; a super-cluster's seed list stays well below this). */
export const maxNatsServers = 32;
/** Longest server URL, in characters. */
export const maxNatsServerUrlLength = 256;

const schemes = new Set(["nats:", "tls:", "ws:", "wss:"]);

/**
 * The servers of a `NATS_URL` (or config list), trimmed, empty entries skipped; throws
 * `invalid_argument` naming `what` and the bad entry when one is not a server URL, the list
 * is empty, or it names more than {@link maxNatsServers}.
 *
 * @example
 * parseNatsServers("nats://10.0.0.1:4222, nats://10.0.0.2:4222") // ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]
 */
export function parseNatsServers(servers: string | readonly string[], what = "NATS_URL"): string[] {
  const entries = (typeof servers === "string" ? servers.split(",") : servers.flatMap((s) => s.split(","))).map((s) => s.trim()).filter((s) => s !== "");
  if (entries.length === 0) throw new MicroError("invalid_argument", `${what} names no NATS server; give one or more URLs separated by commas, e.g. nats://127.0.0.1:4222`);
  if (entries.length > maxNatsServers) throw new MicroError("invalid_argument", `${what} names ${entries.length} NATS servers; at most ${maxNatsServers} are allowed`);
  for (const entry of entries) checkServer(entry, what);
  return entries;
}

/**
 * `url` (one server or a list separated by commas) with any user, password or token replaced
 * by `***`, for messages and logs. Everything before an entry's last "@" after its scheme is
 * credentials (a host holds no "@"), so a password with "/" or "@" in it, or an entry without
 * a scheme (`user:pass@host`), is hidden too.
 */
export function redactNatsUrl(url: string): string {
  return url.split(",").map((entry) => {
    const at = entry.lastIndexOf("@");
    if (at < 0) return entry;
    const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(entry)?.[0] ?? "";
    return `${scheme}***${entry.slice(at)}`;
  }).join(",");
}

function checkServer(entry: string, what: string): void {
  // A bad entry is shown redacted: NATS_URL may carry a password or token, and this message
  // reaches terminals and logs (it once printed `nats://user:secret@host:99999` whole).
  const shown = redactNatsUrl(entry);
  const bad = (why: string) => new MicroError("invalid_argument", `${what}: "${shown.length > 64 ? `${shown.slice(0, 64)}...` : shown}" ${why}; expected URLs such as nats://host:4222 separated by commas`);
  if (entry.length > maxNatsServerUrlLength) throw bad(`is longer than ${maxNatsServerUrlLength} characters`);
  if (/\s/.test(entry)) throw bad("contains white space");
  let url: URL;
  try {
    url = new URL(entry.includes("://") ? entry : `nats://${entry}`);
  } catch {
    throw bad("is not a URL");
  }
  if (!schemes.has(url.protocol)) throw bad(`has scheme ${url.protocol.slice(0, -1)} (nats, tls, ws or wss)`);
  if (url.hostname === "") throw bad("has no host");
  if (url.port !== "" && (Number(url.port) < 1 || Number(url.port) > 65535)) throw bad("has no valid port");
  if (url.pathname !== "" && url.pathname !== "/" && !url.protocol.startsWith("ws")) throw bad("has a path");
}
