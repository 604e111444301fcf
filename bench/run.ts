/**
 * `npm run bench`: raw @nats-io request-reply, Moleculer 0.15 (NATS transporter) and jetmicro,
 * on Bun and on Node.
 *
 * Starts one nats-server, then for each runtime a server process (`rpc-server.ts`) and a client
 * process (`rpc-client.ts`) of that runtime, like the peer benchmarks. Prints a table per
 * runtime with the ratios the performance targets are stated in, and writes everything to
 * `bench/results/rpc-latest.json`. Every child is killed if anything fails or on Ctrl-C.
 *
 * Then, per runtime, the observability pass (`BENCH_OBSERVABILITY=0` skips it): jetmicro plain,
 * with tracing and metrics off as the runner runs it, and with both on (tracing exported to a
 * local OTLP sink, the metrics observers, a scrape a second), and with both on and one call in ten
 * traced, interleaved in their own pair of processes, printed as ratios against "off" (what
 * observability costs today's code: off against plain, on, every call traced, against off;
 * sampled for information; issue 15's goals state the same figures against the benchmark of
 * the day it was filed, `against-commit.ts`), read as the median of each round's ratio over
 * many short rounds (`observedSettings`). Its own processes, because tracing is process-wide: the main pass never loads it.
 *
 * Environment: `BENCH_SECONDS` (3), `BENCH_ROUNDS` (3), `BENCH_WARMUP_SECONDS` (1),
 * `BENCH_SYSTEMS` (all), `BENCH_WORKLOADS` (`seq,conc256`), `BENCH_RUNTIMES` (`bun,node`), `BENCH_OBSERVABILITY`
 * (`0` skips the observability pass, `only` runs it alone), `BENCH_OBSERVABILITY_SECONDS` (1) and `BENCH_OBSERVABILITY_ROUNDS` (15) (its rounds), `BENCH_OBSERVABILITY_SYSTEMS` (its systems, e.g. `jetmicro-on` alone), `BENCH_CPU_PROF=1` (client and server
 * CPU profiles into `bench/results/profiles/`, on Bun a grep-friendly Markdown one beside each; best with one system, e.g. `BENCH_SYSTEMS=jetmicro`).
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { onProcessExit, runCommand, type SpawnedProcess, spawnProcess } from "../runtime/platform/process.ts";
import {
  type ClientReport,
  type Measurement,
  observabilityBaseline,
  observabilityGoals,
  observabilitySystems,
  readyLine,
  resultPrefix,
  type Settings,
  settingsFromEnv,
  type System,
  type Workload,
} from "./rpc-protocol.ts";
import { exitOf, runtimeCommands, stopChild } from "./bench-children.ts";
import { startOtlpSink } from "./otlp-sink.ts";
import { formatNumber, formatShort, median, spread, table } from "./stats.ts";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const resultsDir = join(root, "bench", "results");
const serverReadyTimeoutMs = 30_000;
const runtimes = runtimeCommands(root);

/** The issue's targets, for the verdict column; they are information, not a gate. */
const concTarget: Record<string, number> = { node: 1.9, bun: 1.3 };
const seqP50Target = 1.1;
const moleculerTarget = 1.5;

interface Row {
  readonly system: System;
  readonly workload: Workload;
  readonly callsPerSecond: number;
  readonly runs: readonly number[];
  readonly p50Micros: number;
  readonly p99Micros: number;
  readonly cpuMicrosPerCall: { client: number; server: number; nats: number };
  readonly errors: number;
}

interface RuntimeResult {
  readonly runtime: string;
  readonly version?: string;
  readonly error?: string;
  readonly clientFirstError?: string;
  readonly summary?: readonly Row[];
  readonly ratios?: Record<string, number>;
  /** Each round's ratio behind a "median of rounds" ratio, by its label. */
  readonly roundRatios?: Record<string, readonly number[]>;
  readonly measurements?: readonly Measurement[];
}

const children = new Set<SpawnedProcess>();
onProcessExit(() => {
  for (const child of children) child.kill("SIGKILL");
});
// Exit hooks (ours and startNatsServer's) kill every child and delete the NATS store dir.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const settings = settingsFromEnv();
/** A pass of one runtime: the main one, or the observability one with its systems and processes. */
interface Pass {
  readonly label: string;
  readonly settings: Settings;
  readonly env: Record<string, string>;
}
const mainPass: Pass = { label: "", settings, env: {} };
/** The observability pass's systems: all, or those `BENCH_OBSERVABILITY_SYSTEMS` names (one alone keeps its process's code monomorphic). */
const observedSystems = pickObservabilitySystems(process.env.BENCH_OBSERVABILITY_SYSTEMS);
/**
 * The observability pass measures in short rounds, many of them (`BENCH_OBSERVABILITY_SECONDS`,
 * 1, and `BENCH_OBSERVABILITY_ROUNDS`, 15), and states its ratios as the median of each round's
 * ratio (on against off measured back to back): on this shared machine the load of other
 * processes changes from second to second, and a ratio of medians taken seconds apart moved
 * by ±0.1 from run to run where the paired median moves by a few hundredths.
 */
const observedSettings = settingsFromEnv({
  ...process.env,
  BENCH_SECONDS: process.env.BENCH_OBSERVABILITY_SECONDS ?? "1",
  BENCH_ROUNDS: process.env.BENCH_OBSERVABILITY_ROUNDS ?? "15",
});
const observabilityPass: Pass = {
  label: " observability",
  settings: { ...observedSettings, systems: observedSystems },
  env: { BENCH_SYSTEMS: observedSystems.join(","), BENCH_OBSERVABILITY: "1", BENCH_SECONDS: String(observedSettings.seconds), BENCH_ROUNDS: String(observedSettings.rounds) },
};
const picked = (process.env.BENCH_RUNTIMES ?? "bun,node").split(",").map((r) => r.trim()).filter(Boolean);
for (const r of picked) if (!(r in runtimes)) throw new Error(`BENCH_RUNTIMES: unknown runtime "${r}" (known: ${Object.keys(runtimes).join(", ")})`);

let natsVersion: string | undefined;
const nats = await startNatsServer({
  jetstream: true, // the routed system reads the registry from a KV bucket
  log: (line) => (natsVersion ??= /Version:\s+(\S+)/.exec(line)?.[1]),
});
const results: RuntimeResult[] = [];
const startedAt = new Date();
try {
  console.error(`nats-server ${natsVersion ?? "?"} at ${nats.url}; ${settings.rounds} rounds x ${settings.seconds} s, ${cpus().length} CPUs`);
  for (const runtime of picked) {
    if (process.env.BENCH_OBSERVABILITY !== "only") results.push(await benchRuntime(runtime, nats.url, nats.pid));
    if (process.env.BENCH_OBSERVABILITY !== "0") results.push(await benchRuntime(runtime, nats.url, nats.pid, observabilityPass));
  }
} finally {
  await nats.stop();
}

for (const result of results) console.log(`\n${render(result)}`);
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, "rpc-latest.json");
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform, arch: process.arch };
const profiled = process.env.BENCH_CPU_PROF === "1";
const document = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  git: await gitState(),
  machine,
  natsServer: natsVersion,
  settings,
  profiled,
  results,
};
writeFileSync(file, `${JSON.stringify(document, null, 2)}\n`);
console.log(`\nwrote ${file}`);
if (results.some((r) => r.error !== undefined)) process.exitCode = 1;

/** The commit measured, and the files changed on top of it (results are only comparable with both). */
async function gitState(): Promise<{ commit?: string; changed?: string[] }> {
  try {
    const head = await runCommand("git", ["rev-parse", "HEAD"], { cwd: root });
    const status = await runCommand("git", ["status", "--porcelain", "--", "runtime", "services", "gen", "package-lock.json"], { cwd: root });
    return { commit: head.code === 0 ? head.lines[0] : undefined, changed: status.code === 0 ? status.lines.filter(Boolean) : undefined };
  } catch {
    return {};
  }
}

/** Runs the server and client processes of one runtime and summarises the client's report. */
async function benchRuntime(runtime: string, natsUrl: string, natsPid: number, pass: Pass = mainPass): Promise<RuntimeResult> {
  // The observability pass exports its spans here, outside the measured processes.
  const sink = pass === observabilityPass ? await startOtlpSink() : undefined;
  const env = { ...pass.env, NATS_URL: natsUrl, NATS_PID: String(natsPid), ...(sink ? { BENCH_OTLP_ENDPOINT: sink.endpoint } : {}) };
  let server: SpawnedProcess | undefined;
  let client: SpawnedProcess | undefined;
  try {
    let ready!: () => void;
    const serverReady = new Promise<void>((resolve) => (ready = resolve));
    const profiling = process.env.BENCH_CPU_PROF === "1";
    server = spawnChild(runtime, "rpc-server.ts", env, profiling ? profileFlags(runtime, "server") : [], (line) => (line === readyLine ? ready() : echo(`${runtime} server`, line)));
    await within(Promise.race([serverReady, exitOf(server, `${runtime} server`)]), serverReadyTimeoutMs, `${runtime} server`);

    let report: ClientReport | undefined;
    client = spawnChild(runtime, "rpc-client.ts", env, profiling ? profileFlags(runtime, "client") : [], (line) => {
      if (line.startsWith(resultPrefix)) report = JSON.parse(line.slice(resultPrefix.length)) as ClientReport;
      else echo(`${runtime} client`, line);
    });
    const code = await within(client.exited, clientBudgetMs(pass.settings), `${runtime} client`);
    if (report === undefined) throw new Error(`${runtime} client exited with code ${code} without a report`);
    const summary = summarise(report.measurements, pass.settings);
    const paired = pairedRatios(report.measurements);
    if (sink !== undefined) console.error(`${runtime}${pass.label}: ${sink.exports()} span exports reached the sink`);
    return {
      runtime: `${runtime}${pass.label}`,
      version: report.version,
      clientFirstError: report.firstError,
      summary,
      ratios: { ...ratios(summary), ...paired.ratios },
      roundRatios: paired.rounds,
      measurements: report.measurements,
    };
  } catch (error) {
    console.error(`${runtime}${pass.label}: ${(error as Error).message}`);
    return { runtime: `${runtime}${pass.label}`, error: (error as Error).message };
  } finally {
    client?.kill("SIGKILL");
    if (server !== undefined) await stopChild(server);
    await sink?.stop();
  }
}

function spawnChild(runtime: string, script: string, env: Record<string, string>, flags: string[], onLine: (line: string) => void): SpawnedProcess {
  const { command, args } = runtimes[runtime]!;
  const child = spawnProcess(command, [...args, ...flags, join("bench", script)], { cwd: root, env, onLine });
  children.add(child);
  child.exited.finally(() => children.delete(child)).catch(() => {});
  return child;
}

/** Waits for `promise`, failing after `ms` (the caller's finally kills the child). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The client's planned run time, doubled, plus a minute for start-up and stragglers. */
function clientBudgetMs(s: Settings): number {
  const measurements = s.systems.length * s.workloads.length;
  const planned = measurements * (s.warmupSeconds + s.rounds * s.seconds);
  return (60 + 2 * planned) * 1000;
}

/**
 * One directory per process: Node also profiles tsx's loader thread, and a fixed file name
 * would let that profile overwrite the main thread's.
 */
function profileFlags(runtime: string, role: string): string[] {
  const dir = join(resultsDir, "profiles", `${runtime}-${role}`);
  mkdirSync(dir, { recursive: true });
  return ["--cpu-prof", ...(runtime === "bun" ? ["--cpu-prof-md"] : []), `--cpu-prof-dir=${dir}`];
}

function echo(source: string, line: string): void {
  if (line.trim() !== "") console.error(line.startsWith("[") ? line : `[${source}] ${line}`);
}

/** Medians across rounds, one row per system and workload. */
function summarise(measurements: readonly Measurement[], s: Settings): Row[] {
  const rows: Row[] = [];
  for (const workload of s.workloads) {
    for (const system of s.systems) {
      const runs = measurements.filter((m) => m.system === system && m.workload === workload);
      if (runs.length === 0) continue;
      const med = (pick: (m: Measurement) => number | undefined) => median(runs.map(pick).filter((v): v is number => v !== undefined));
      rows.push({
        system,
        workload,
        callsPerSecond: med((m) => m.callsPerSecond),
        runs: runs.map((m) => m.callsPerSecond),
        p50Micros: med((m) => m.p50Micros),
        p99Micros: med((m) => m.p99Micros),
        cpuMicrosPerCall: {
          client: med((m) => m.cpuMicrosPerCall.client),
          server: med((m) => m.cpuMicrosPerCall.server),
          nats: med((m) => m.cpuMicrosPerCall.nats),
        },
        errors: runs.reduce((sum, m) => sum + m.errors, 0),
      });
    }
  }
  return rows;
}

/** jetmicro against each raw variant: calls/s at conc256 (higher is better), seq p50 (lower is better). */
function ratios(rows: readonly Row[]): Record<string, number> {
  const row = (system: System, workload: Workload) => rows.find((r) => r.system === system && r.workload === workload);
  const out: Record<string, number> = {};
  for (const raw of ["raw-default", "raw-noAsyncTraces"] as const) {
    const conc = [row("jetmicro", "conc256"), row(raw, "conc256")] as const;
    if (conc[0] && conc[1]) out[`conc256 calls/s jetmicro/${raw}`] = conc[0].callsPerSecond / conc[1].callsPerSecond;
    const seq = [row("jetmicro", "seq"), row(raw, "seq")] as const;
    if (seq[0] && seq[1]) out[`seq p50 jetmicro/${raw}`] = seq[0].p50Micros / seq[1].p50Micros;
  }
  // The peer: Moleculer over the same nats-server (the issue's goal: >= 1.5x at 256 in flight).
  const peer = [row("jetmicro", "conc256"), row("moleculer", "conc256")] as const;
  if (peer[0] && peer[1]) {
    out["conc256 calls/s jetmicro/moleculer"] = peer[0].callsPerSecond / peer[1].callsPerSecond;
    out["conc256 client CPU µs/call jetmicro/moleculer"] = peer[0].cpuMicrosPerCall.client / peer[1].cpuMicrosPerCall.client;
  }
  const peerSeq = [row("jetmicro", "seq"), row("moleculer", "seq")] as const;
  if (peerSeq[0] && peerSeq[1]) out["seq p50 jetmicro/moleculer"] = peerSeq[0].p50Micros / peerSeq[1].p50Micros;
  const routed = [row("jetmicro-routed", "conc256"), row("raw-default", "conc256")] as const;
  if (routed[0] && routed[1]) out["conc256 calls/s jetmicro-routed/raw-default"] = routed[0].callsPerSecond / routed[1].callsPerSecond;
  // The observability pass: each against "off" (plain/off above 1 is off's cost; on/off its).
  for (const workload of ["conc256", "seq"] as const) {
    const [plain, off, on, sampled] = [row("jetmicro", workload), row("jetmicro-off", workload), row("jetmicro-on", workload), row("jetmicro-sampled", workload)];
    if (off === undefined) continue;
    if (plain) out[`${workload} calls/s off/plain`] = off.callsPerSecond / plain.callsPerSecond;
    if (on) out[`${workload} calls/s on/off`] = on.callsPerSecond / off.callsPerSecond;
    if (on && workload === "seq") out["seq p50 on/off"] = on.p50Micros / off.p50Micros;
    // CPU per call (client + server) holds up on a busy machine better than calls/s does.
    const cpu = (r: Row) => r.cpuMicrosPerCall.client + r.cpuMicrosPerCall.server;
    if (plain) out[`${workload} CPU µs/call off/plain`] = cpu(off) / cpu(plain);
    if (on) out[`${workload} CPU µs/call on/off`] = cpu(on) / cpu(off);
    // One call in ten traced, as a busy service is best run (for information: the goal is every call traced).
    if (sampled) out[`${workload} calls/s sampled/off`] = sampled.callsPerSecond / off.callsPerSecond;
    if (sampled) out[`${workload} CPU µs/call sampled/off`] = cpu(sampled) / cpu(off);
  }
  return out;
}

/**
 * The observability ratios as the median over rounds of each round's ratio: in a round the
 * systems run back to back, so a ratio within a round compares them under the same load of the
 * rest of the machine (see `observedSettings`).
 */
function pairedRatios(measurements: readonly Measurement[]): { ratios: Record<string, number>; rounds: Record<string, number[]> } {
  const ratios: Record<string, number> = {};
  const rounds: Record<string, number[]> = {};
  const paired = (label: string, workload: Workload, over: System, under: System) => {
    const each = roundRatios(measurements, workload, over, under);
    if (each.length === 0) return;
    ratios[label] = median(each);
    rounds[label] = each;
  };
  for (const workload of ["conc256", "seq"] as const) {
    paired(`${workload} calls/s off/plain, median of rounds`, workload, "jetmicro-off", "jetmicro");
    paired(`${workload} calls/s on/off, median of rounds`, workload, "jetmicro-on", "jetmicro-off");
  }
  return { ratios, rounds };
}

/** Each round's ratio of `over`'s calls/s to `under`'s, in round order. */
function roundRatios(measurements: readonly Measurement[], workload: Workload, over: System, under: System): number[] {
  const ratios: number[] = [];
  for (const m of measurements) {
    if (m.system !== over || m.workload !== workload) continue;
    const other = measurements.find((o) => o.system === under && o.workload === workload && o.round === m.round);
    if (other !== undefined && other.callsPerSecond > 0) ratios.push(m.callsPerSecond / other.callsPerSecond);
  }
  return ratios;
}

function render(result: RuntimeResult): string {
  const title = `## ${result.runtime}${result.version ? ` ${result.version}` : ""}`;
  if (result.error !== undefined) return `${title}\n\nFAILED: ${result.error}`;
  const header = ["system", "workload", "median calls/s", "runs", "spread", "p50 µs", "p99 µs", "CPU µs/call client / server / nats", "errors"];
  const rows = result.summary!.map((r) => [
    r.system,
    r.workload,
    formatNumber(r.callsPerSecond),
    r.runs.map(formatShort).join(" / "),
    spread(r.runs),
    formatNumber(r.p50Micros),
    formatNumber(r.p99Micros),
    [r.cpuMicrosPerCall.client, r.cpuMicrosPerCall.server, r.cpuMicrosPerCall.nats].map((v) => formatNumber(v, 1)).join(" / "),
    String(r.errors),
  ]);
  const lines = [title, "", table(header, rows, "llrrlrrrr"), ""];
  for (const [label, value] of Object.entries(result.ratios!)) {
    // Three decimals: a goal missed by less than half a hundredth must not print as its target.
    lines.push(`${label.padEnd(46)} ${value.toFixed(label.endsWith("median of rounds") ? 3 : 2)}x  ${verdict(result.runtime, label, value)}`);
    const each = result.roundRatios?.[label];
    if (each !== undefined) lines.push(`${"  each round".padEnd(46)} ${each.map((r) => r.toFixed(2)).join(" ")}`);
  }
  if (result.clientFirstError !== undefined) lines.push(`first client error: ${result.clientFirstError}`);
  return lines.join("\n");
}

/** An observability ratio within today's code against its figure; the goal itself is `against-commit.ts`'s. */
function sameCode(value: number, target: number): string {
  return `(same code: ${value >= target ? "at least" : "under"} ${target}x; the goal compares with ${observabilityBaseline}: bench/against-commit.ts)`;
}

/** How a ratio compares with the issue's target; the conc256 target is stated against raw-default only. */
function verdict(runtime: string, label: string, value: number): string {
  // The observability ratios are read as the paired ones (see pairedRatios); the ratio of medians is shown beside them.
  if (label.endsWith("calls/s off/plain, median of rounds")) return sameCode(value, observabilityGoals.off);
  if (label.endsWith("calls/s on/off, median of rounds")) return sameCode(value, observabilityGoals.on);
  if (label.endsWith("calls/s off/plain") || label.endsWith("calls/s on/off")) return "(ratio of medians, for information)";
  if (label === "seq p50 on/off" || label.includes("CPU µs/call o") || label.includes("sampled/off")) return "(for information)";
  if (label === "conc256 calls/s jetmicro/moleculer") return `(target >= ${moleculerTarget}x: ${value >= moleculerTarget ? "met" : "MISSED"})`;
  if (label.includes("moleculer")) return "(for information)";
  if (label.startsWith("seq p50")) return `(target <= ${seqP50Target}x: ${value <= seqP50Target ? "met" : "MISSED"})`;
  const target = concTarget[runtime];
  if (!label.endsWith("/raw-default") || label.includes("routed") || target === undefined) return "(for information)";
  return `(target >= ${target}x: ${value >= target ? "met" : "MISSED"})`;
}

function pickObservabilitySystems(names: string | undefined): System[] {
  if (names === undefined || names.trim() === "") return [...observabilitySystems];
  const picked = names.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of picked) {
    if (!(observabilitySystems as readonly string[]).includes(s)) throw new Error(`BENCH_OBSERVABILITY_SYSTEMS: unknown system "${s}" (known: ${observabilitySystems.join(", ")})`);
  }
  return picked as System[];
}
