/**
 * The benchmark's child processes: how each runtime runs a TypeScript file, and how a child is
 * waited for and stopped. Shared by `run.ts`, `against-commit.ts` and `hostile-child.ts`.
 * @module
 */
import { join } from "node:path";
import type { SpawnedProcess } from "../runtime/platform/process.ts";

/** A program and the arguments before the script's path. */
export interface RuntimeCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** How long a child may take to stop on SIGTERM before it is killed. */
const stopGraceMs = 5_000;

/**
 * The command and arguments each runtime runs a TypeScript file of the tree at `root` with:
 * this Bun, or the tree's own when run from Node; Node loads tsx in-process, so the pid we kill
 * is the program.
 */
export function runtimeCommands(root: string): Record<string, RuntimeCommand> & Record<"bun" | "node", RuntimeCommand> {
  return {
    bun: { command: process.versions.bun === undefined ? join(root, "node_modules", ".bin", "bun") : process.execPath, args: [] },
    node: { command: "node", args: ["--import", "tsx"] },
  };
}

/** Rejects when `child` exits, for racing against something it should do first. */
export function exitOf(child: SpawnedProcess, what: string): Promise<never> {
  return child.exited.then((code) => {
    throw new Error(`${what} exited with code ${code}`);
  });
}

/** Stops `child` with SIGTERM (its own clean-up runs), with SIGKILL if it has not exited after a grace period. */
export async function stopChild(child: SpawnedProcess): Promise<void> {
  child.kill("SIGTERM");
  const escalate = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
  await child.exited.catch(() => null);
  clearTimeout(escalate);
}
