import { spawn, type Subprocess } from "bun";
import { repoPath } from "./service-dirs.ts";

/** A child process whose combined output is collected as it arrives. */
export interface Child {
  readonly process: Subprocess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Waits until the output matches, failing with the output so far after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
}

/** Runs `micro <args>` with Bun from the repo root, with `env` added to the environment. */
export function runMicro(args: string[], env: Record<string, string | undefined> = {}): Child {
  // No gateway unless a test asks: many runners at once would compete for port 8080.
  return spawnChild([process.execPath, repoPath("cli/main.ts"), ...args], { MICRO_GATEWAY_PORT: "0", ...env });
}

/** Spawns `cmd` in the repo root, collecting its output. */
export function spawnChild(cmd: string[], env: Record<string, string | undefined> = {}): Child {
  let text = "";
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...process.env, NO_COLOR: "1", ...env })) {
    if (value !== undefined) merged[key] = value;
  }
  const child = spawn({ cmd, cwd: repoPath(""), env: merged, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      text += decoder.decode(chunk.value, { stream: true });
    }
  };
  const pumped = Promise.all([pump(child.stdout as ReadableStream<Uint8Array>), pump(child.stderr as ReadableStream<Uint8Array>)]);
  return {
    process: child,
    output: () => text,
    exited: child.exited.then(async (code) => {
      await pumped;
      return code;
    }),
    async waitFor(pattern, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output so far:\n${text}`);
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${pattern}; output:\n${text}`);
        await Bun.sleep(20);
      }
    },
  };
}
