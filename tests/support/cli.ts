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
  const child = Bun.spawn({ cmd: [process.execPath, repoPath("runtime/cli/main.ts"), ...args], cwd, env: merged, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}
