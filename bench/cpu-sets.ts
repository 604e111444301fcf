/**
 * Separate CPUs for a benchmark's load generator and the server it measures, so that the
 * generator's own work (building and sending requests) does not take CPU from the server and
 * show up as the server's slowness. Linux with `taskset` and at least 2 cores only; elsewhere
 * nothing is pinned and {@link pinning} says so.
 * @module
 */
import { execFileSync } from "node:child_process";
import { availableParallelism } from "node:os";

/** How the load generator and the server child are placed on CPUs. */
export interface Pinning {
  /** Prefix for the server child's command line (`["taskset", "-c", "1"]`), or none. */
  readonly serverPrefix: readonly string[];
  /** One line for the benchmark's output saying what was pinned where. */
  readonly description: string;
}

/**
 * Pins this process (every thread, and the processes it starts from now on, such as the
 * nats-server) to CPU 0 and returns the prefix that starts the server child on CPU 1.
 * Call it before starting anything the pinning should cover.
 */
export function pinning(): Pinning {
  const cores = availableParallelism();
  if (process.platform !== "linux" || cores < 2) return unpinned(`${cores} core(s)`);
  try {
    execFileSync("taskset", ["-a", "-p", "-c", "0", String(process.pid)], { stdio: "ignore" });
  } catch {
    return unpinned("no taskset");
  }
  return {
    serverPrefix: ["taskset", "-c", "1"],
    description: "CPU sets: load generator and nats-server on CPU 0, gateway child on CPU 1 (taskset)",
  };
}

function unpinned(why: string): Pinning {
  return { serverPrefix: [], description: `CPU sets: not pinned (${why}); the load generator and the gateway share the CPUs` };
}
