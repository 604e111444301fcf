import {
  makeTempDir,
  onProcessExit,
  readTcpBanner,
  removeDir,
  type Signal,
  spawnProcess,
} from "../platform/process.ts";
import { ensureNatsServerBinary } from "./server-binary.ts";

/**
 * How many lines of server output an error quotes from the start and from the end: the start
 * holds a bad flag's complaint (before the usage text), the end holds the last log lines.
 */
const headLines = 5;
const tailLines = 15;
const stopGraceMs = 5_000;

/** Options for {@link startNatsServer}. */
export interface StartNatsServerOptions {
  /** Client port; by default the server picks a free one, so servers never collide. */
  port?: number;
  /** Address to listen on (default `127.0.0.1`, so nothing is exposed beyond this machine). */
  host?: string;
  /**
   * JetStream store directory, kept after the server exits. By default a fresh temp dir that is
   * deleted once the server has exited, so at the latest when {@link NatsServerProcess.stop}
   * resolves.
   */
  storeDir?: string;
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Receives every line the server logs. */
  log?: (line: string) => void;
  /** How long to wait for "Server is ready" before giving up (default 10000). */
  readyTimeoutMs?: number;
  /** Extra command-line arguments for nats-server, appended after jetmicro's own. */
  args?: string[];
  /** Path of the nats-server executable; found with {@link ensureNatsServerBinary} by default. */
  binary?: string;
  /** Install nats-server if it is missing (default false: starting a server never runs apt). */
  install?: boolean;
}

/** A nats-server child process started by {@link startNatsServer}. */
export interface NatsServerProcess {
  /** Client URL, e.g. `nats://127.0.0.1:41234`. */
  readonly url: string;
  /** The client port the server actually listens on. */
  readonly port: number;
  /** The JetStream store directory. */
  readonly storeDir: string;
  /** The server's process id. */
  readonly pid: number;
  /**
   * Sends SIGTERM, waits for exit (SIGKILL after 5 s), then makes sure a temp store dir created
   * for this server is gone. Safe to call more than once, and after a crash.
   */
  stop(): Promise<void>;
  /** Sends a signal (default SIGTERM) without waiting, e.g. to simulate a crash. */
  kill(signal?: Signal): void;
  /** Resolves with the exit code (`null` if a signal ended it) when the server exits. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts nats-server as a child process and resolves once it accepts clients. The child is
 * SIGKILLed if this process exits without stopping it: synchronously from an `exit` listener,
 * and, on Linux, by a watchdog for exits that skip listeners (SIGKILL, Ctrl-C, `bun test`).
 *
 * @example
 * const nats = await startNatsServer();
 * const nc = await connect({ servers: nats.url });
 * // ...
 * await nc.close();
 * await nats.stop();
 */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerProcess> {
  const host = options.host ?? "127.0.0.1";
  const binary = options.binary ?? (await ensureNatsServerBinary({ install: options.install ?? false, log: options.log }));
  const ownsStoreDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? makeTempDir("jetmicro-nats-");
  const args = ["-a", host, "-p", String(options.port ?? -1)];
  if (options.jetstream ?? true) args.push("-js", "-sd", storeDir);
  args.push(...(options.args ?? []));

  const head: string[] = [];
  const tail: string[] = [];
  let skipped = 0;
  let port: number | undefined;
  let ready!: () => void;
  const readyLogged = new Promise<void>((resolve) => (ready = resolve));
  const child = spawnProcess(binary, args, {
    // Backs up the exit listener below, which `bun test`, signals and SIGKILL all skip.
    dieWithParent: { removeDir: ownsStoreDir ? storeDir : undefined },
    // A Ctrl-C must not take the server down before the services using it have drained.
    detached: true,
    onLine(line) {
      if (head.length < headLines) head.push(line);
      else if (tail.push(line) > tailLines) {
        tail.shift();
        skipped++;
      }
      options.log?.(line);
      port ??= parseClientPort(line);
      if (line.includes("Server is ready")) ready();
    },
  });
  const cleanUp = () => ownsStoreDir && removeDir(storeDir);
  const unregister = onProcessExit(() => {
    child.kill("SIGKILL");
    cleanUp();
  });
  const exited = child.exited.catch(() => null);

  const timeoutMs = options.readyTimeoutMs ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    readyLogged.then(() => "ready" as const),
    child.exited.then(
      (code) => `exited with code ${code}` as const,
      (error: Error) => `could not be started (${error.message})` as const,
    ),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`was not ready after ${timeoutMs} ms`), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready" || port === undefined) {
    child.kill("SIGKILL");
    await exited;
    unregister();
    cleanUp();
    const reason = outcome === "ready" ? "never logged its client port" : outcome;
    throw new Error(`nats-server ${reason}: ${binary} ${args.join(" ")}\n${quote(head, skipped, tail)}`);
  }

  let stopping: Promise<void> | undefined;
  const stop = async () => {
    child.kill("SIGTERM");
    const escalate = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
    await exited;
    clearTimeout(escalate);
    unregister();
    cleanUp();
  };
  return {
    url: `nats://${urlHost(host)}:${port}`,
    port,
    storeDir,
    pid: child.pid,
    stop: () => (stopping ??= stop()),
    kill: (signal) => child.kill(signal),
    exited,
  };
}

/** What a NATS server says about itself in the `INFO` line it sends every new connection. */
export interface NatsServerHello {
  /** The address that answered, e.g. `nats://127.0.0.1:4222`. */
  url: string;
  /** Server version, e.g. `2.9.10`. */
  version: string;
  /**
   * Whether JetStream is enabled. Worth checking before reusing a server found on 4222: the
   * Debian package's system service, for one, runs without it.
   */
  jetstream: boolean;
}

/**
 * Whether a NATS server answers at `url`: connects over TCP and waits for the `INFO` banner
 * every NATS server sends first. Accepts what `NATS_URL` accepts, including a comma-separated
 * list (true if any answers) and URLs without a scheme or port.
 */
export async function isNatsReachable(url: string, timeoutMs = 1000): Promise<boolean> {
  return (await probeNatsServer(url, timeoutMs)) !== undefined;
}

/**
 * Like {@link isNatsReachable}, but returns what the first server to answer says about itself
 * (`undefined` if none does), so a caller can also check it has JetStream.
 */
export async function probeNatsServer(url: string, timeoutMs = 1000): Promise<NatsServerHello | undefined> {
  const targets = url.split(",").map((entry) => entry.trim()).filter(Boolean);
  const answers = await Promise.all(targets.map((entry) => probeOne(entry, timeoutMs)));
  return answers.find((answer) => answer !== undefined);
}

async function probeOne(entry: string, timeoutMs: number): Promise<NatsServerHello | undefined> {
  const address = parseAddress(entry);
  if (!address) return undefined;
  const banner = await readTcpBanner(address.host, address.port, timeoutMs);
  if (!banner?.startsWith("INFO ")) return undefined;
  let info: { version?: unknown; jetstream?: unknown } = {};
  try {
    info = JSON.parse(banner.slice(5));
  } catch {
    // Still a NATS server, just one whose banner we cannot read; report what we know.
  }
  return {
    url: `nats://${urlHost(address.host)}:${address.port}`,
    version: typeof info.version === "string" ? info.version : "unknown",
    jetstream: info.jetstream === true,
  };
}

/** nats-server 2.x logs e.g. "[123] ... [INF] Listening for client connections on 127.0.0.1:4222". */
function parseClientPort(line: string): number | undefined {
  const match = /Listening for client connections on .*:(\d+)\s*$/.exec(line);
  return match ? Number(match[1]) : undefined;
}

function parseAddress(entry: string): { host: string; port: number } | undefined {
  try {
    const parsed = new URL(entry.includes("://") ? entry : `nats://${entry}`);
    const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
    return { host, port: parsed.port ? Number(parsed.port) : 4222 };
  } catch {
    return undefined;
  }
}

/** Wildcard listen addresses are not connectable everywhere, so clients use loopback instead. */
function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::" || host === "[::]") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function quote(head: string[], skipped: number, tail: string[]): string {
  if (head.length === 0) return "  (no output)";
  const gap = skipped > 0 ? [`... ${skipped} more lines ...`] : [];
  return [...head, ...gap, ...tail].map((line) => `  | ${line}`).join("\n");
}
