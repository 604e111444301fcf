import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoPath } from "./service-dirs.ts";

/** What one `micro` invocation printed and how it exited. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `micro <args>` to completion (Bun, the repo's CLI entry) with `env` added, no colour,
 * and `cwd` (default the repo root).
 */
export async function micro(args: string[], env: Record<string, string | undefined> = {}, cwd = repoPath("")): Promise<CliResult> {
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, NO_COLOR: "1", ...env })) {
    if (value !== undefined) merged[key] = value;
  }
  const child = Bun.spawn({ cmd: [process.execPath, repoPath("cli/main.ts"), ...args], cwd, env: merged, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

/**
 * A throwaway jetmicro project in a temp folder: the repo's code and tools linked in, its own
 * copy of proto/ (so gen/, services/ and tests/ written there never touch the repo).
 */
export function makeProject(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "jetmicro-project-"));
  for (const path of ["node_modules", "runtime", "gateway", "buf.yaml", "buf.gen.yaml", "package.json", "tsconfig.json"]) {
    symlinkSync(repoPath(path), join(dir, path));
  }
  cpSync(repoPath("proto"), join(dir, "proto"), { recursive: true });
  mkdirSync(join(dir, "tests"));
  symlinkSync(repoPath("tests/support"), join(dir, "tests/support"));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A long-running `micro <args>` (run, subscribe) in `cwd`, its output collected as it comes. */
export function spawnMicro(args: string[], env: Record<string, string | undefined>, cwd: string) {
  let text = "";
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, NO_COLOR: "1", MICRO_GATEWAY_PORT: "0", ...env })) {
    if (value !== undefined) merged[key] = value;
  }
  const child = Bun.spawn({ cmd: [process.execPath, repoPath("cli/main.ts"), ...args], cwd, env: merged, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
  };
  const pumped = Promise.all([pump(child.stdout), pump(child.stderr)]);
  return {
    process: child,
    output: () => text,
    exited: child.exited.then(async (code) => (await pumped, code)),
    /** Waits until the output matches `pattern` `count` times. */
    async waitFor(pattern: RegExp, timeoutMs = 20_000, count = 1): Promise<void> {
      const until = Date.now() + timeoutMs;
      const global = new RegExp(pattern.source, `${pattern.flags.replace("g", "")}g`);
      while ((text.match(global)?.length ?? 0) < count) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output so far:\n${text}`);
        if (child.exitCode !== null) throw new Error(`micro exited (${child.exitCode}) before ${pattern}; output:\n${text}`);
        await Bun.sleep(20);
      }
    },
  };
}
