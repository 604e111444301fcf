/**
 * The gateway child of the hostile-mix benchmarks (`gateway-hostile.ts serve`: the gateway, the
 * greeter, events and the sidecar in one process), started for `gateway-hostile.ts` and
 * `gateway-body-probe.ts` alike: under Bun, on the CPU set `prefix` pins it to, with
 * `BENCH_CHILD_FLAGS` (e.g. `--cpu-prof`) before the script.
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnProcess } from "../runtime/platform/process.ts";
import { runtimeCommands } from "./bench-children.ts";

/** A started child: the process, and its HTTP port and pid once it is ready. */
export interface HostileChild {
  readonly process: ReturnType<typeof spawnProcess>;
  readonly ready: Promise<[port: number, pid: number]>;
}

/** Starts the child on `natsUrl`; `ready` rejects if it exits first. */
export function startHostileChild(natsUrl: string, prefix: readonly string[]): HostileChild {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const bun = runtimeCommands(root).bun.command;
  const flags = (process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter(Boolean);
  const [command, ...args] = [...prefix, bun, ...flags, join(root, "bench", "gateway-hostile.ts"), "serve"];
  let ready!: (v: [number, number]) => void;
  const started = new Promise<[number, number]>((resolve) => (ready = resolve));
  const child = spawnProcess(command!, args, {
    env: { NATS_URL: natsUrl },
    dieWithParent: {},
    onLine: (line) => {
      const m = /^ready (\d+) (\d+)$/.exec(line);
      if (m) ready([Number(m[1]), Number(m[2])]);
      else console.error(`[server] ${line}`);
    },
  });
  return { process: child, ready: Promise.race([started, child.exited.then(() => { throw new Error("the benchmark's gateway child exited"); })]) };
}
