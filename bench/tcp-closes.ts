/**
 * Which side closed the TCP connections to a port, read from the kernel's table of connections
 * in TIME_WAIT (`/proc/net/tcp`, `/proc/net/tcp6`): the side that closes first keeps its end
 * in TIME_WAIT for a minute, so the entries that appear between two readings are the
 * connections closed meanwhile (entries are told apart by their addresses, since old ones
 * expire while new ones come). A gateway that closes a connection after a refusal makes the
 * client open a new one for its next request: work a kept-alive connection saves.
 * @module
 */
import { readFileSync } from "node:fs";

/** The TIME_WAIT entries involving one port, by which end closed first (address pairs). */
export interface TimeWait {
  /** The server (local port = the port) closed first. */
  readonly byServer: ReadonlySet<string>;
  /** The client (remote port = the port) closed first. */
  readonly byClient: ReadonlySet<string>;
}

/** How many connections each side closed between two readings. */
export interface Closes {
  readonly byServer: number;
  readonly byClient: number;
}

const timeWait = "06";

/** The TIME_WAIT entries for `port` now; empty off Linux. */
export function timeWaitAt(port: number): TimeWait {
  const byServer = new Set<string>();
  const byClient = new Set<string>();
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let table: string;
    try {
      table = readFileSync(file, "latin1");
    } catch {
      continue;
    }
    for (const line of table.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== timeWait) continue;
      if (f[1]!.endsWith(suffix)) byServer.add(`${f[1]} ${f[2]}`);
      else if (f[2]!.endsWith(suffix)) byClient.add(`${f[1]} ${f[2]}`);
    }
  }
  return { byServer, byClient };
}

/** Connections closed since `before` was read, by side. */
export function closesSince(before: TimeWait, port: number): Closes {
  const now = timeWaitAt(port);
  const added = (was: ReadonlySet<string>, is: ReadonlySet<string>) => {
    let n = 0;
    for (const key of is) if (!was.has(key)) n++;
    return n;
  };
  return { byServer: added(before.byServer, now.byServer), byClient: added(before.byClient, now.byClient) };
}
