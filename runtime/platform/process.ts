/**
 * The host-process adapter: child processes, a few filesystem calls and a TCP probe.
 *
 * jetmicro's core is web-standard; everything that needs the operating system goes through this
 * folder, which is the only place that imports `node:` modules. Those builtins behave the same
 * on Bun, Deno and Node, so one implementation serves all three runtimes.
 * @module
 */
import { spawn } from "node:child_process";
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import process from "node:process";

/** A POSIX signal name, e.g. `"SIGTERM"`. */
export type Signal = NodeJS.Signals;

/** Options for {@link spawnProcess}. */
export interface SpawnOptions {
  /** Extra environment variables, merged over the parent's environment. */
  env?: Record<string, string>;
  /** Working directory; the parent's by default. */
  cwd?: string;
  /** Receives every line the child writes to stdout or stderr, without the line break. */
  onLine?: (line: string) => void;
  /**
   * SIGKILL the child if this process goes away while the child still runs, however it goes:
   * crash, SIGKILL, Ctrl-C, or a test runner that exits without emitting `exit` (`bun test`
   * does). `removeDir` is deleted once the child has exited, even if this process is gone by
   * then. The child runs via /bin/sh, so a missing command shows as exit code 127, not as a
   * spawn error. Linux only (the guard reads /proc); elsewhere only the removal happens.
   */
  dieWithParent?: { removeDir?: string };
  /**
   * Run the child in its own process group, so a Ctrl-C in the terminal reaches only this
   * process, which can then stop the child in order (say, after draining its connections).
   * Pair it with `dieWithParent`, or a child can outlive a parent that dies before stopping it.
   */
  detached?: boolean;
}

/** A running child process, as {@link spawnProcess} returns it. */
export interface SpawnedProcess {
  /** The child's process id. */
  readonly pid: number;
  /** Whether the child is still running. */
  readonly running: boolean;
  /**
   * Resolves once the child has exited and its output has been delivered: the exit code, or
   * `null` when a signal ended it. Rejects only if the child could not be started.
   */
  readonly exited: Promise<number | null>;
  /** Sends a signal (SIGTERM by default); does nothing once the child has exited. */
  kill(signal?: Signal): void;
}

/**
 * Starts a child process with stdout and stderr piped and split into lines.
 *
 * @example
 * const child = spawnProcess("nats-server", ["-p", "-1"], { onLine: console.log });
 * await child.exited;
 */
export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions = {}): SpawnedProcess {
  const guard = options.dieWithParent && process.platform !== "win32" ? options.dieWithParent : undefined;
  const [file, argv] = guard ? ["/bin/sh", ["-c", guardScript, "sh", guard.removeDir ?? "", command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: [guard ? "pipe" : "ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  // Nothing is ever written; the pipe exists so the guard sees EOF when this process is gone.
  child.stdin?.on("error", () => {});
  let running = true;
  const onLine = options.onLine ?? (() => {});
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue; // always piped; the check is for the type checker
    stream.setEncoding("utf8");
    let pending = "";
    stream.on("data", (chunk: string) => {
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    });
    stream.on("end", () => pending && onLine(pending));
  }
  // "close" rather than "exit": it fires after both pipes are drained, so callers that report
  // the last lines of output on exit see all of them.
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", (error) => {
      running = false;
      reject(error);
    });
    child.once("close", (code) => {
      running = false;
      child.stdin?.destroy(); // lets the guard exit now rather than when this process does
      resolve(code);
    });
  });
  return {
    pid: child.pid ?? -1,
    get running() {
      return running;
    },
    exited,
    kill(signal: Signal = "SIGTERM") {
      // Guarding on our own flag keeps a recycled pid from receiving a stray signal.
      if (running) child.kill(signal);
    },
  };
}

/**
 * The `dieWithParent` guard, run as `sh -c guardScript sh <removeDir> <command> <args...>`.
 * It forks a watcher that blocks reading the stdin pipe, then `exec`s the command so the child
 * keeps the shell's pid ($$). The pipe reaches EOF when this process closes it (once the child
 * has exited) or dies. The watcher kills $$ only while $$ is still its parent: once the command
 * has exited and been reaped, the watcher is reparented and the pid may belong to someone else.
 * It ignores the signals a Ctrl-C or a process-group kill sends, so it lives to clean up.
 */
const guardScript = `
dir=$1; shift
exec 3<&0 0</dev/null
(
  trap '' HUP INT TERM
  read -r _ <&3
  read -r _ _ _ ppid _ </proc/self/stat
  [ "$ppid" = "$$" ] && kill -KILL $$ && sleep 0.2
  [ -n "$dir" ] && rm -rf -- "$dir"
) >/dev/null 2>&1 &
exec "$@" 3<&-
`;

/** What {@link runCommand} reports once the command has finished. */
export interface CommandResult {
  /** Exit code; `null` when a signal ended the command. */
  code: number | null;
  /** Combined stdout and stderr, one line per entry. */
  lines: string[];
}

/** Runs a command to completion and collects its output; never rejects for a non-zero exit. */
export async function runCommand(command: string, args: readonly string[], options: Omit<SpawnOptions, "onLine"> = {}): Promise<CommandResult> {
  const lines: string[] = [];
  const code = await spawnProcess(command, args, { ...options, onLine: (line) => lines.push(line) }).exited;
  return { code, lines };
}

/** Whether `path` exists and is an executable regular file. */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable named `command` on `PATH`, like the shell's `which`. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Whether this process runs as root (always false where uids do not exist). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Reads an environment variable; `undefined` when unset or empty. */
export function envVar(name: string): string | undefined {
  return process.env[name] || undefined;
}

/** Whether a file or directory exists at `path`. */
export function fileExists(path: string): boolean {
  return existsSync(path);
}

/** Milliseconds since the epoch at which `path` was last modified; `undefined` if absent. */
export function modifiedAt(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Creates a fresh, uniquely named directory in the system temp folder and returns its path. */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A path inside the system temp folder. */
export function tempPath(name: string): string {
  return join(tmpdir(), name);
}

/** Deletes a directory and everything in it; a missing directory is not an error. */
export function removeDir(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  } catch (error) {
    // Someone else (e.g. a `dieWithParent` guard) removing it at the same time is fine.
    if (existsSync(path)) throw error;
  }
}

/** Deletes a file; a missing file is not an error. */
export function removeFile(path: string): void {
  rmSync(path, { force: true });
}

/**
 * Atomically creates `path` holding `content`; false if it already exists. The building block
 * of a lock file that works across processes.
 */
export function createExclusive(path: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Reads a UTF-8 text file; `undefined` if it cannot be read. */
export function readTextFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** This process's id. */
export function currentPid(): number {
  return process.pid;
}

/** Whether a process with this id exists (it may belong to another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

const exitHooks = new Set<() => void>();

/**
 * Runs `hook` synchronously when this process exits, so children it started do not outlive it.
 * Returns a function that unregisters the hook. One listener serves every hook, which keeps
 * Node from warning about too many `exit` listeners when tests start many servers.
 */
export function onProcessExit(hook: () => void): () => void {
  if (exitHooks.size === 0) process.once("exit", runExitHooks);
  exitHooks.add(hook);
  return () => {
    exitHooks.delete(hook);
    if (exitHooks.size === 0) process.off("exit", runExitHooks);
  };
}

function runExitHooks(): void {
  for (const hook of exitHooks) {
    try {
      hook();
    } catch {
      // Exiting anyway: one failing hook must not stop the others from cleaning up.
    }
  }
  exitHooks.clear();
}

/**
 * Connects to `host:port` and resolves with the first line the server sends, or `undefined`
 * if the connection fails, closes, or nothing arrives within `timeoutMs`.
 */
export function readTcpBanner(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let received = "";
    const finish = (line: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
      const end = received.indexOf("\n");
      if (end >= 0) finish(received.slice(0, end).replace(/\r$/, ""));
    });
    socket.on("error", () => finish(undefined));
    socket.on("close", () => finish(undefined));
  });
}
