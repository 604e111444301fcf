#!/usr/bin/env node
// `micro` on PATH (npx micro): runs the CLI on Bun, the default runtime, forwarding arguments,
// signals and the exit code. Bun is the `bun` npm package jetmicro depends on, found from here
// whether this is a clone (its own node_modules) or an installed package (hoisted into the
// project's node_modules): never a global bun.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const bun = localBun();
/** The executable of the `bun` package resolvable from this file, else the clone's .bin shim. */
function localBun() {
  try {
    const executable = join(dirname(createRequire(import.meta.url).resolve("bun/package.json")), "bin", "bun.exe");
    if (existsSync(executable)) return executable;
  } catch {
    // Not installed yet: a fresh clone before npm install; the error below says so.
  }
  return join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.cmd" : "bun");
}

// A fresh clone has no generated code yet (npm start and npm test make it): make it now, or
// the first command a user types would fail on a missing gen/ module.
// A published package ships gen/ (and no scripts/), so this only ever runs in a clone.
if (!existsSync(join(root, "gen")) && existsSync(join(root, "scripts", "setup.mjs"))) {
  const setup = spawnSync(process.execPath, [join(root, "scripts", "setup.mjs")], { stdio: ["ignore", "inherit", "inherit"] });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}
const child = spawn(bun, [join(root, "cli", "main.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
// Ctrl-C already reaches the child through the terminal's process group; forward only the rest.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("error", (error) => {
  console.error(`micro: cannot start bun (${error.message}); run npm install first`);
  process.exit(1);
});
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
