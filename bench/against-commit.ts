/**
 * Issue 15's goals in its own words: "With tracing and metrics off, the RPC benchmark is within
 * 3 % of today's; with both on, within 15 %", where "today's" is the RPC benchmark of the day
 * the issue was filed. This runs that day's code, BENCH_BASELINE ({@link observabilityBaseline},
 * main on 2026-11-29), from a temporary git worktree (its own `rpc-server.ts` and
 * `rpc-client.ts`, its `jetmicro` system), against this tree's `jetmicro-off` and `jetmicro-on`
 * (every call traced and exported to an OTLP sink, metrics on). Each tree's server runs on a
 * nats-server of its own and stays up; their clients take turns, BENCH_PAIRS (10) pairs per
 * runtime of BENCH_RUNTIMES (`bun,node`), which goes first flipping each pair, each client
 * measuring BENCH_SECONDS (3) per workload and system after a second of warm-up. Prints each
 * pair's calls/s and ratios (both workloads) and the median ratios against the goals. Pairs
 * spread widely on a shared machine (0.8-1.3x between two runs of the same code): read the
 * medians.
 *
 * It compares code across time on purpose. What turning observability on costs the same code
 * today is the other question; `run.ts`'s observability pass answers it (on/off per round).
 * Needs git and the baseline commit in the clone's history; the worktree borrows this tree's
 * `node_modules` and `gen` (both ignored by git) and is removed at the end.
 * `bun bench/against-commit.ts`.
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { onProcessExit, runCommand, type SpawnedProcess, spawnProcess } from "../runtime/platform/process.ts";
import { exitOf, runtimeCommands, stopChild } from "./bench-children.ts";
import { startOtlpSink } from "./otlp-sink.ts";
import { type ClientReport, observabilityBaseline, observabilityGoals, readyLine, resultPrefix } from "./rpc-protocol.ts";
import { formatNumber, median, table } from "./stats.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const baseline = process.env.BENCH_BASELINE ?? observabilityBaseline;
const pairs = Number(process.env.BENCH_PAIRS ?? 10);
const seconds = process.env.BENCH_SECONDS ?? "3";
const picked = (process.env.BENCH_RUNTIMES ?? "bun,node").split(",").map((r) => r.trim()).filter(Boolean);
const workloadNames = ["conc256", "seq"] as const;

const runtimes = runtimeCommands(root);
for (const r of picked) if (!(r in runtimes)) throw new Error(`BENCH_RUNTIMES: unknown runtime "${r}" (known: ${Object.keys(runtimes).join(", ")})`);

/** calls/s of each system and workload in one run (`jetmicro/conc256` → 41000). */
type Rates = Map<string, number>;

const children = new Set<SpawnedProcess>();
const worktree = mkdtempSync(join(tmpdir(), "jetmicro-baseline-"));
/** Removes the worktree (git's record of it and the folder); safe to run twice. */
const removeWorktree = () => {
  spawnSync("git", ["worktree", "remove", "--force", worktree], { cwd: root, stdio: "ignore" });
  rmSync(worktree, { recursive: true, force: true });
};
// Exit hooks (ours and startNatsServer's) kill every child, delete the NATS store dirs and the
// worktree, on Ctrl-C too.
onProcessExit(() => {
  for (const child of children) child.kill("SIGKILL");
  removeWorktree();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
const added = await runCommand("git", ["worktree", "add", "--detach", worktree, baseline], { cwd: root });
if (added.code !== 0) throw new Error(`git worktree add ${baseline} failed: ${added.lines.join(" ")}`);
// One nats-server per tree: both serve a greeter on the same subjects, and a shared server would
// spread one tree's calls over both trees' services.
const started: Array<{ stop(): Promise<void> }> = [];
const startNats = async () => {
  const nats = await startNatsServer({ jetstream: true });
  started.push(nats);
  return nats;
};
try {
  const natsOf = { baseline: await startNats(), today: await startNats() };
  const sink = await startOtlpSink();
  started.push(sink);
  symlinkSync(join(root, "node_modules"), join(worktree, "node_modules"), "dir");
  symlinkSync(join(root, "gen"), join(worktree, "gen"), "dir");
  const commit = (await runCommand("git", ["rev-parse", "--short", "HEAD"], { cwd: worktree })).lines[0];
  console.log(`baseline ${baseline} (${commit}) against this tree; ${pairs} pairs per runtime, ${seconds} s per workload and system`);
  for (const runtime of picked) {
    // The servers stay up for the whole runtime; each run is a new client, so both trees'
    // clients take turns against servers that are equally warm.
    const trees = {
      baseline: await benchServer(worktree, runtime, natsOf.baseline, { BENCH_SYSTEMS: "jetmicro" }),
      today: await benchServer(root, runtime, natsOf.today, { BENCH_SYSTEMS: "jetmicro-off,jetmicro-on", BENCH_OBSERVABILITY: "1", BENCH_OTLP_ENDPOINT: sink.endpoint }),
    };
    const rows: string[][] = [];
    const ratios: Record<string, number[]> = {};
    try {
      for (let pair = 0; pair < pairs; pair++) {
        let base: Rates;
        let today: Rates;
        // Which goes first flips each pair: a machine getting busier or quieter falls on both.
        if (pair % 2 === 0) [base, today] = [await trees.baseline.run(), await trees.today.run()];
        else [today, base] = [await trees.today.run(), await trees.baseline.run()];
        for (const workload of workloadNames) {
          const b = base.get(`jetmicro/${workload}`)!;
          const [off, on] = [today.get(`jetmicro-off/${workload}`)!, today.get(`jetmicro-on/${workload}`)!];
          (ratios[`${workload} off`] ??= []).push(off / b);
          (ratios[`${workload} on`] ??= []).push(on / b);
          rows.push([String(pair + 1), workload, formatNumber(b), formatNumber(off), formatNumber(on), (off / b).toFixed(2), (on / b).toFixed(2), (on / off).toFixed(2)]);
        }
      }
    } finally {
      await Promise.all([trees.baseline.stop(), trees.today.stop()]);
    }
    console.log(`\n## ${runtime}: calls/s of ${baseline}'s jetmicro and of this tree's, pair by pair\n`);
    console.log(table(["pair", "workload", `${baseline} jetmicro`, "off", "on", "off/baseline", "on/baseline", "on/off"], rows, "llrrrrrr"));
    console.log("");
    for (const workload of workloadNames) {
      for (const system of ["off", "on"] as const) {
        const m = median(ratios[`${workload} ${system}`]!);
        const goal = observabilityGoals[system];
        console.log(`${runtime} ${workload} calls/s ${system}/${baseline}, median of pairs: ${m.toFixed(3)}x (goal >= ${goal}x: ${m >= goal ? "met" : "MISSED"})`);
      }
    }
  }
  console.log(`\n${sink.exports()} span exports reached the sink`);
} finally {
  for (const child of children) child.kill("SIGKILL");
  await Promise.all(started.map((s) => s.stop()));
  removeWorktree();
}

/**
 * The benchmark server of the tree at `dir`, started on `nats`; `run` runs one client of the
 * same tree (both workloads, one round) and gives calls/s by system and workload.
 */
async function benchServer(dir: string, runtime: string, nats: { url: string; pid: number }, env: Record<string, string>) {
  const { command, args } = runtimes[runtime]!;
  const childEnv = { ...env, NATS_URL: nats.url, NATS_PID: String(nats.pid), BENCH_SECONDS: seconds, BENCH_ROUNDS: "1", BENCH_WARMUP_SECONDS: "1" };
  const start = (script: string, onLine: (line: string) => void) => {
    const child = spawnProcess(command, [...args, join("bench", script)], { cwd: dir, env: childEnv, onLine });
    children.add(child);
    child.exited.finally(() => children.delete(child)).catch(() => {});
    return child;
  };
  let ready!: () => void;
  const serverReady = new Promise<void>((resolve) => (ready = resolve));
  const server = start("rpc-server.ts", (line) => line === readyLine && ready());
  await Promise.race([serverReady, exitOf(server, `${dir} ${runtime} server`)]);
  return {
    async run(): Promise<Rates> {
      let report: ClientReport | undefined;
      const client = start("rpc-client.ts", (line) => {
        if (line.startsWith(resultPrefix)) report = JSON.parse(line.slice(resultPrefix.length)) as ClientReport;
      });
      const code = await client.exited;
      if (report === undefined) throw new Error(`${dir} ${runtime} client exited with code ${code} without a report`);
      const rates: Rates = new Map();
      for (const m of report.measurements) rates.set(`${m.system}/${m.workload}`, m.callsPerSecond);
      return rates;
    },
    stop: () => stopChild(server),
  };
}
