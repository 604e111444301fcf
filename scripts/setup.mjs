// Brings a checkout up to date before start, test and bench: installs npm dependencies,
// regenerates protobuf code and makes sure nats-server exists. Plain Node with no
// dependencies, because it runs before node_modules exists on a fresh clone. Each step is
// skipped, silently, when its output is already newer than its inputs.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureChromium, ensurePrometheus } from "./chromium.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const binDir = join(root, "node_modules", ".bin");
const suffix = process.platform === "win32" ? ".cmd" : "";
// Invoked as `node scripts/setup.mjs` the local bins are not on PATH, but buf needs them to
// find its protoc-gen-es plugin.
const env = { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH ?? ""}` };

try {
  installDependencies();
  generateCode();
  ensureNatsServer();
  // Only the tests need a browser (the dashboard's), so start and bench skip it.
  if (process.env.npm_lifecycle_event === "pretest") {
    ensureChromium();
    ensurePrometheus();
  }
} catch (error) {
  console.error(`setup: ${error.message}`);
  process.exit(1);
}

function installDependencies() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const inputs = ["package.json", "package-lock.json"].map((file) => join(root, file));
  if (mtime(marker) >= Math.max(...inputs.map(mtime))) return;
  console.log("setup: installing dependencies (npm install)");
  run("npm install", "npm" + suffix, ["install", "--no-audit", "--no-fund"]);
  // npm leaves the marker alone when nothing changed, which would rerun it every time.
  const now = new Date();
  if (existsSync(marker)) utimesSync(marker, now, now);
}

function generateCode() {
  const gen = join(root, "gen");
  const inputs = [newest(join(root, "proto")), mtime(join(root, "buf.gen.yaml")), mtime(join(root, "buf.yaml"))];
  if (existsSync(gen) && newest(gen) >= Math.max(...inputs)) return;
  console.log("setup: generating code from proto/ (buf generate)");
  run("buf generate", join(binDir, "buf" + suffix), ["generate"]);
  // buf leaves unchanged files alone, so their old times would make every run regenerate.
  touchAll(gen);
}

function ensureNatsServer() {
  // With NATS_URL the user brings their own server, so no local binary is needed.
  if (process.env.NATS_URL) return;
  run("checking nats-server", join(binDir, "bun" + suffix), [join(root, "runtime", "nats", "ensure-binary.ts")], {
    quiet: true,
  });
}

/** Runs a command with inherited stdio; throws naming the step when it fails. */
function run(step, command, args, { quiet = false } = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit", shell: suffix === ".cmd" });
  if (result.error) throw new Error(`${step} failed: ${result.error.message}`);
  if (result.status !== 0) {
    // A quiet step has already printed its own explanation.
    throw new Error(quiet ? `${step} failed` : `${step} failed with exit code ${result.status ?? result.signal}`);
  }
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

/** Sets the modification time of every file under `dir` to now. */
function touchAll(dir) {
  const now = new Date();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) utimesSync(join(entry.parentPath ?? entry.path, entry.name), now, now);
  }
}

/** The newest modification time of any file under `dir` (-Infinity when there are none). */
function newest(dir) {
  let latest = -Infinity;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, mtime(join(entry.parentPath ?? entry.path, entry.name)));
  }
  return latest;
}
