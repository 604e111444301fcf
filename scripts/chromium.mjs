// Makes sure Debian's chromium exists for the dashboard's browser test, installing it with
// apt-get where it is missing (as runtime/nats/server-binary.ts does for nats-server).
// Plain Node, no dependencies: scripts/setup.mjs runs it before node_modules may exist.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where Debian's package puts the browser; the tests launch this one. */
export const chromiumPath = "/usr/bin/chromium";

/** Installs chromium when it is missing; throws with what to do when that is impossible. */
export function ensureChromium(log = (line) => console.log(`setup: ${line}`)) {
  if (existsSync(chromiumPath)) return;
  const manual = "install it yourself (Debian/Ubuntu: apt-get install chromium) so the dashboard's browser test can run";
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) throw new Error(`${chromiumPath} is missing and this is not a Debian-like system: ${manual}`);
  if (typeof process.getuid === "function" && process.getuid() !== 0) throw new Error(`${chromiumPath} is missing and installing it needs root: ${manual}`);
  log("installing chromium (apt-get install chromium) for the browser test");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", "chromium"]]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (result.error || result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}): ${manual}`);
  }
  if (!existsSync(chromiumPath)) throw new Error(`apt-get installed chromium but ${chromiumPath} is still missing: ${manual}`);
}

/** Where Debian's package puts Prometheus; the metrics test starts this one. */
export const prometheusPath = "/usr/bin/prometheus";

/** Installs Debian's prometheus (for the metrics test only) when it is missing; throws with what to do when that is impossible. */
export function ensurePrometheus(log = (line) => console.log(`setup: ${line}`)) {
  if (existsSync(prometheusPath)) return;
  const manual = "install it yourself (Debian/Ubuntu: apt-get install prometheus) so the metrics test can run";
  if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) throw new Error(`${prometheusPath} is missing and this is not a Debian-like system: ${manual}`);
  if (typeof process.getuid === "function" && process.getuid() !== 0) throw new Error(`${prometheusPath} is missing and installing it needs root: ${manual}`);
  log("installing prometheus (apt-get install prometheus) for the metrics test");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", "prometheus"]]) {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (result.error || result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (${result.error?.message ?? `exit ${result.status}`}): ${manual}`);
  }
  // The package enables a system service; the tests start their own server on a free port.
  spawnSync("systemctl", ["disable", "--now", "prometheus"], { stdio: "ignore" });
  if (!existsSync(prometheusPath)) throw new Error(`apt-get installed prometheus but ${prometheusPath} is still missing: ${manual}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    ensureChromium();
  } catch (error) {
    console.error(`setup: ${error.message}`);
    process.exitCode = 1;
  }
}
