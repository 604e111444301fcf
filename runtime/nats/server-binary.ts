import {
  createExclusive,
  currentPid,
  envVar,
  fileExists,
  isExecutable,
  isProcessAlive,
  isRoot,
  modifiedAt,
  readTextFile,
  removeFile,
  runCommand,
  tempPath,
  which,
} from "../platform/process.ts";

const binaryName = "nats-server";
const aptPackage = "nats-server";
/** Debian puts daemons in /usr/sbin, which is not on a normal user's PATH. */
const fallbackDirs = ["/usr/sbin", "/usr/bin"];
/** Shared by every checkout on the machine, since apt installs machine-wide. */
const lockFile = tempPath("jetmicro-nats-server-install.lock");
/** Longer than any sane apt-get run; past this a lock is treated as abandoned. */
const lockMaxAgeMs = 10 * 60_000;
const lockPollMs = 250;

/** Options for {@link ensureNatsServerBinary}. */
export interface EnsureNatsServerOptions {
  /**
   * Install nats-server when it is missing (default true). Only possible as root on a
   * Debian-like system, where it runs `apt-get install -y nats-server`.
   */
  install?: boolean;
  /** Receives one line per step taken, e.g. "installing nats-server with apt-get". */
  log?: (line: string) => void;
}

/**
 * Finds the nats-server executable: `$NATS_SERVER_BIN` first, then `PATH`, then `/usr/sbin`
 * and `/usr/bin`. Returns `undefined` when there is none (or `$NATS_SERVER_BIN` is not
 * executable).
 */
export function findNatsServerBinary(): string | undefined {
  const explicit = envVar("NATS_SERVER_BIN");
  if (explicit) return isExecutable(explicit) ? explicit : undefined;
  const onPath = which(binaryName);
  if (onPath) return onPath;
  return fallbackDirs.map((dir) => `${dir}/${binaryName}`).find(isExecutable);
}

/**
 * Returns the path of nats-server, installing it with apt-get first if it is missing and this
 * is a Debian-like machine on which we are root. Otherwise throws an `Error` that explains how
 * to install it. Safe to call from several processes at once: installs are serialised by a
 * lock file, and a process that waited re-checks before installing again.
 *
 * @example
 * const bin = await ensureNatsServerBinary({ log: (line) => console.log(line) });
 */
export async function ensureNatsServerBinary(options: EnsureNatsServerOptions = {}): Promise<string> {
  const log = options.log ?? (() => {});
  const explicit = envVar("NATS_SERVER_BIN");
  if (explicit && !isExecutable(explicit)) {
    // Installing another copy would quietly ignore what the user asked for.
    throw new Error(`NATS_SERVER_BIN is set to "${explicit}", which is not an executable file.`);
  }
  const found = findNatsServerBinary();
  if (found) return found;
  if (options.install === false) throw notFound();
  if (!fileExists("/etc/debian_version")) throw notFound("it can only be installed automatically on Debian or Ubuntu");
  if (!isRoot()) throw notFound("installing it automatically needs root");
  return await installWithLock(log);
}

async function installWithLock(log: (line: string) => void): Promise<string> {
  let waiting = false;
  while (!createExclusive(lockFile, String(currentPid()))) {
    if (isAbandoned(lockFile)) {
      removeFile(lockFile);
      continue;
    }
    if (!waiting) log(`waiting for another process to finish installing ${binaryName}`);
    waiting = true;
    await sleep(lockPollMs);
    const found = findNatsServerBinary();
    if (found) return found;
  }
  try {
    // The process that held the lock may have just finished installing it.
    return findNatsServerBinary() ?? (await aptInstall(log));
  } finally {
    removeFile(lockFile);
  }
}

function isAbandoned(path: string): boolean {
  const age = Date.now() - (modifiedAt(path) ?? Date.now());
  if (age > lockMaxAgeMs) return true;
  const pid = Number.parseInt(readTextFile(path) ?? "", 10);
  // An empty file is a lock being written right now, not an abandoned one.
  return Number.isInteger(pid) && pid > 0 && !isProcessAlive(pid);
}

async function aptInstall(log: (line: string) => void): Promise<string> {
  const aptGet = which("apt-get") ?? "/usr/bin/apt-get";
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  // Wait for dpkg's own lock rather than failing when apt is busy elsewhere on the machine.
  const install = ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", aptPackage];
  log(`${binaryName} not found; installing it: apt-get install -y ${aptPackage}`);
  let result = await runCommand(aptGet, install, { env });
  if (result.code !== 0 && result.lines.some(isStaleIndex)) {
    log(`apt does not know ${aptPackage} yet; running apt-get update`);
    const update = await runCommand(aptGet, ["update", "-q", "-o", "DPkg::Lock::Timeout=120"], { env });
    if (update.code !== 0) throw aptFailed("apt-get update", update.lines);
    result = await runCommand(aptGet, install, { env });
  }
  // Re-check even after a failure: someone outside our lock may have installed it meanwhile.
  const found = findNatsServerBinary();
  if (found) {
    log(`installed ${binaryName} at ${found}`);
    return found;
  }
  throw aptFailed(`apt-get install ${aptPackage}`, result.lines);
}

function isStaleIndex(line: string): boolean {
  return line.includes("Unable to locate package") || line.includes("has no installation candidate");
}

function aptFailed(command: string, lines: string[]): Error {
  const output = lines.filter((line) => line.trim()).slice(-10).map((line) => `  | ${line}`);
  return notFound(`"${command}" failed`, output);
}

function notFound(reason?: string, details: string[] = []): Error {
  return new Error(
    [
      `${binaryName} was not found ($NATS_SERVER_BIN, PATH, ${fallbackDirs.join(", ")})${reason ? `, and ${reason}` : ""}.`,
      ...details,
      "Install it with one of:",
      `  Debian/Ubuntu: sudo apt-get install ${aptPackage}`,
      "  macOS:         brew install nats-server",
      "  any system:    download a release from https://github.com/nats-io/nats-server/releases",
      "                 and put it on PATH, or set NATS_SERVER_BIN to its path",
      "or set NATS_URL to an existing NATS server with JetStream enabled.",
    ].join("\n"),
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
