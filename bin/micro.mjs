#!/usr/bin/env node
// `micro` on PATH (npx micro): runs the CLI on Bun, the default runtime, from this package's
// own node_modules, forwarding arguments, signals and the exit code.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const localBun = join(root, "node_modules", ".bin", process.platform === "win32" ? "bun.cmd" : "bun");
const bun = existsSync(localBun) ? localBun : "bun";
// A fresh clone has no generated code yet (npm start and npm test make it): make it now, or
// the first command a user types would fail on a missing gen/ module.
if (!existsSync(join(root, "gen"))) {
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
