/**
 * `npm run bench` (last part): one call over HTTP, on Bun and on Node, for five systems side by
 * side against one nats-server, in interleaved rounds (medians):
 *
 * - Hono answering directly (no NATS): what the runtime's HTTP stack costs by itself;
 * - the bare forwarder (the runtime's own HTTP server, `Bun.serve` or `node:http`, + one `nc.request()` per request, nothing
 *   else) in front of the greeter service in its own process: the floor of any gateway;
 * - the jetmicro gateway and the service in separate processes, as production runs them;
 * - the jetmicro gateway and the service in one process (`micro run` with both);
 * - moleculer-web 0.11 in front of a Moleculer greeter in its own process (NATS transporter).
 *
 * The HTTP load comes from `wrk` (installed with apt-get when missing, as nats-server is). Each
 * server role runs in its own process (`gateway-server.ts`), in its own process group, so every
 * system is charged the CPU of exactly its processes plus nats-server's (CPU µs per request
 * compares systems whatever else loads the machine) and every group is killed at the end.
 * Results go to `bench/results/gateway-latest.json`.
 *
 * Settings: BENCH_SECONDS (3), BENCH_ROUNDS (3), BENCH_WARMUP_SECONDS (1), BENCH_CONNECTIONS
 * (64), BENCH_RUNTIMES (`bun,node`; BENCH_GATEWAY_RUNTIME, if set, picks one), BENCH_GATEWAY_SYSTEMS
 * (all: `direct,forwarder,separate,single,moleculer`; a subset measures only those, for profiling).
 * @module
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { isExecutable, isRoot, onProcessExit, runCommand, type SpawnedProcess, spawnProcess, which } from "../runtime/platform/process.ts";
import { processCpuMicros } from "./child-process.ts";
import { formatNumber, formatShort, median, spread, table } from "./stats.ts";

const seconds = positive("BENCH_SECONDS", 3);
const rounds = Math.round(positive("BENCH_ROUNDS", 3));
const warmupSeconds = positive("BENCH_WARMUP_SECONDS", 1);
const connections = Math.round(positive("BENCH_CONNECTIONS", 64));
const picked = (process.env.BENCH_GATEWAY_RUNTIME ?? process.env.BENCH_RUNTIMES ?? "bun,node").split(",").map((r) => r.trim()).filter(Boolean);
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const resultsDir = join(root, "bench", "results");
const body = '{"name":"Ada"}';
const readyTimeoutMs = 60_000;

/** How each runtime runs TypeScript; Node loads tsx in-process, so the pid is the program's. */
const runtimes: Record<string, { command: string; args: string[] }> = {
  bun: { command: process.versions.bun === undefined ? join(root, "node_modules", ".bin", "bun") : process.execPath, args: [] },
  node: { command: "node", args: ["--import", "tsx"] },
};
const systemKeys = (process.env.BENCH_GATEWAY_SYSTEMS ?? "direct,forwarder,separate,single,moleculer").split(",").map((s) => s.trim()).filter(Boolean);
for (const r of picked) if (!(r in runtimes)) throw new Error(`BENCH_RUNTIMES: unknown runtime "${r}" (known: ${Object.keys(runtimes).join(", ")})`);

/** The issue's goals, for the verdict column; information, not a gate. */
const targets: Record<string, number> = {
  "calls/s gateway (2 processes)/bare forwarder": 0.9,
  "calls/s gateway (2 processes)/moleculer-web": 1.5,
};

type Role = "single" | "service" | "gateway" | "forwarder" | "moleculer-service" | "moleculer-web";
interface Run {
  readonly rate: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
  readonly errors: number;
  /** CPU of every process of the system (front, service, nats-server) per request. */
  readonly cpuMicrosPerRequest: number | undefined;
  /** CPU of the front process alone (the gateway, forwarder or moleculer-web) per request. */
  readonly frontCpuMicrosPerRequest?: number | undefined;
}
interface System { readonly name: string; readonly url: string; readonly pids: readonly number[] }
interface RuntimeResult { readonly runtime: string; readonly error?: string; readonly systems?: Record<string, Run[]>; readonly ratios?: Record<string, number> }

const names = {
  direct: "Hono answering directly (no NATS)",
  forwarder: "bare forwarder → service (2 processes)",
  separate: "jetmicro gateway → service (2 processes)",
  single: "jetmicro gateway + service (1 process)",
  moleculer: "moleculer-web → Moleculer service (2 processes)",
} as const;

for (const key of systemKeys) if (!(key in names)) throw new Error(`BENCH_GATEWAY_SYSTEMS: unknown system "${key}" (known: ${Object.keys(names).join(", ")})`);

const groups = new Set<SpawnedProcess>();
onProcessExit(() => {
  for (const child of groups) killGroup(child);
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

const wrk = await ensureWrk();
const scratch = mkdtempSync(join(tmpdir(), "jetmicro-bench-gw-"));
const script = join(scratch, "post.lua");
writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\n`);
const nats = await startNatsServer();
const startedAt = new Date();
const results: RuntimeResult[] = [];
try {
  console.error(`gateway bench: ${connections} connections, ${rounds} rounds x ${seconds} s, ${cpus().length} CPUs, nats-server at ${nats.url}`);
  for (const runtime of picked) results.push(await benchRuntime(runtime));
} finally {
  await nats.stop();
  rmSync(scratch, { recursive: true, force: true });
}

for (const result of results) console.log(`\n${render(result)}`);
mkdirSync(resultsDir, { recursive: true });
const file = join(resultsDir, "gateway-latest.json");
const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, platform: process.platform, arch: process.arch };
writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), machine, settings: { seconds, rounds, warmupSeconds, connections }, results }, null, 2)}\n`);
console.log(`\nwrote ${file}`);
if (results.some((r) => r.error !== undefined)) process.exitCode = 1;

/** Starts every role on `runtime`, measures the five systems in interleaved rounds, stops them all. */
async function benchRuntime(runtime: string): Promise<RuntimeResult> {
  const started: SpawnedProcess[] = [];
  try {
    const start = (role: Role) => {
      const { child, ready } = startRole(runtime, role);
      started.push(child);
      return ready.then((ports) => ({ pid: child.pid, ports }));
    };
    const wanted = new Set(systemKeys as (keyof typeof names)[]);
    const needs = (...keys: (keyof typeof names)[]) => keys.some((k) => wanted.has(k));
    const none = Promise.resolve({ pid: 0, ports: [] as number[] });
    // Services first, so the fronts find them at once.
    const [service, moleculerService] = await Promise.all([needs("forwarder", "separate") ? start("service") : none, needs("moleculer") ? start("moleculer-service") : none]);
    const [single, gateway, forwarder, moleculerWeb] = await Promise.all([
      needs("direct", "single") ? start("single") : none,
      needs("separate") ? start("gateway") : none,
      needs("forwarder") ? start("forwarder") : none,
      needs("moleculer") ? start("moleculer-web") : none,
    ]);
    const url = (port: number | undefined) => `http://127.0.0.1:${port}/greeter/say-hello`;
    const systems: System[] = ([
      ["direct", { name: names.direct, url: url(single.ports[1]), pids: [single.pid] }],
      ["forwarder", { name: names.forwarder, url: url(forwarder.ports[0]), pids: [forwarder.pid, service.pid, nats.pid] }],
      ["separate", { name: names.separate, url: url(gateway.ports[0]), pids: [gateway.pid, service.pid, nats.pid] }],
      ["single", { name: names.single, url: url(single.ports[0]), pids: [single.pid, nats.pid] }],
      ["moleculer", { name: names.moleculer, url: url(moleculerWeb.ports[0]), pids: [moleculerWeb.pid, moleculerService.pid, nats.pid] }],
    ] as const).filter(([key]) => wanted.has(key)).map(([, system]) => system);
    const runs: Record<string, Run[]> = {};
    for (const system of systems) await measure(system, warmupSeconds);
    for (let round = 0; round < rounds; round++) {
      // Rotate who goes first, so no system always runs right after another's load.
      for (let i = 0; i < systems.length; i++) {
        const system = systems[(i + round) % systems.length]!;
        const run = await measure(system, seconds);
        (runs[system.name] ??= []).push(run);
        console.error(`[${runtime}] round ${round + 1}/${rounds} ${system.name.padEnd(48)} ${formatShort(run.rate)} req/s, ${formatNumber(run.cpuMicrosPerRequest, 1)} µs CPU/req (front ${formatNumber(run.frontCpuMicrosPerRequest, 1)})${run.errors ? `, ${run.errors} errors` : ""}`);
      }
    }
    return { runtime, systems: runs, ratios: ratios(runs) };
  } catch (error) {
    console.error(`${runtime}: ${(error as Error).message}`);
    return { runtime, error: (error as Error).message };
  } finally {
    for (const child of started) killGroup(child);
    await Promise.all(started.map((child) => child.exited.catch(() => null)));
  }
}

/** One `gateway-server.ts` role in its own process group; resolves with the ports it prints. */
function startRole(runtime: string, role: Role): { child: SpawnedProcess; ready: Promise<number[]> } {
  const { command, args } = runtimes[runtime]!;
  let ready!: (ports: number[]) => void;
  const ports = new Promise<number[]>((resolve) => (ready = resolve));
  const child = spawnProcess(command, [...args, join(root, "bench", "gateway-server.ts"), role], {
    cwd: root,
    env: { NATS_URL: nats.url },
    detached: true,
    dieWithParent: {},
    onLine: (line) => {
      const m = /^ready((?: \d+)*)$/.exec(line);
      if (m) ready(m[1]!.trim() === "" ? [] : m[1]!.trim().split(" ").map(Number));
      else if (line.trim() !== "") console.error(`[${runtime} ${role}] ${line}`);
    },
  });
  groups.add(child);
  child.exited.finally(() => groups.delete(child)).catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${runtime} ${role} was not ready within ${readyTimeoutMs / 1000} s`)), readyTimeoutMs);
    child.exited.then((code) => reject(new Error(`${runtime} ${role} exited with code ${code}`)), reject);
  });
  return { child, ready: Promise.race([ports, failed]).finally(() => clearTimeout(timer)) };
}

/** SIGKILLs the child's whole process group (it leads one: spawned detached). */
function killGroup(child: SpawnedProcess): void {
  if (!child.running) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** One wrk run against `system`, with the CPU its processes spent per request. */
async function measure(system: System, duration: number): Promise<Run> {
  const cpu = () => system.pids.reduce<number | undefined>((sum, pid) => {
    const micros = processCpuMicros(pid);
    return sum === undefined || micros === undefined ? undefined : sum + micros;
  }, 0);
  const before = cpu();
  const frontBefore = processCpuMicros(system.pids[0]!);
  const result = await runCommand(wrk, ["-t", "1", "-c", String(connections), "-d", `${duration}s`, "--latency", "-s", script, system.url]);
  const after = cpu();
  const frontAfter = processCpuMicros(system.pids[0]!);
  const text = result.lines.join("\n");
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  if (result.code !== 0 || rate === null) throw new Error(`wrk failed against ${system.name}:\n${text}`);
  const micros = (label: string) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m === null ? Number.NaN : Number(m[1]) * { us: 1, ms: 1000, s: 1_000_000 }[m[2] as "us" | "ms" | "s"];
  };
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) + (socketErrors ? socketErrors.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
  const cpuMicrosPerRequest = before === undefined || after === undefined || requests === 0 ? undefined : (after - before) / requests;
  const frontCpuMicrosPerRequest = frontBefore === undefined || frontAfter === undefined || requests === 0 ? undefined : (frontAfter - frontBefore) / requests;
  return { rate: Number(rate[1]), p50Micros: micros("50"), p99Micros: micros("99"), errors, cpuMicrosPerRequest, frontCpuMicrosPerRequest };
}

/** The goals' ratios (calls/s), and the same comparisons in server-side CPU per request (lower is better). */
function ratios(runs: Record<string, Run[]>): Record<string, number> {
  const rate = (name: string) => (runs[name] === undefined ? Number.NaN : median(runs[name]!.map((r) => r.rate)));
  const cpu = (name: string) => (runs[name] === undefined ? Number.NaN : median(runs[name]!.map((r) => r.cpuMicrosPerRequest).filter((v): v is number => v !== undefined)));
  const all: Record<string, number> = {
    "calls/s gateway (2 processes)/bare forwarder": rate(names.separate) / rate(names.forwarder),
    "calls/s gateway (2 processes)/moleculer-web": rate(names.separate) / rate(names.moleculer),
    "calls/s gateway (1 process)/Hono directly": rate(names.single) / rate(names.direct),
    "calls/s gateway (1 process)/gateway (2 processes)": rate(names.single) / rate(names.separate),
    "CPU µs/req gateway (2 processes)/bare forwarder": cpu(names.separate) / cpu(names.forwarder),
    "CPU µs/req gateway (2 processes)/moleculer-web": cpu(names.separate) / cpu(names.moleculer),
  };
  // With a subset of systems (BENCH_GATEWAY_SYSTEMS), only the ratios it can tell.
  return Object.fromEntries(Object.entries(all).filter(([, value]) => Number.isFinite(value)));
}

function render(result: RuntimeResult): string {
  const title = `## gateway on ${result.runtime}: ${connections} connections, ${seconds} s x ${rounds} rounds, medians`;
  if (result.error !== undefined) return `${title}\n\nFAILED: ${result.error}`;
  const rows = Object.entries(result.systems!).map(([name, runs]) => [
    name,
    formatNumber(median(runs.map((r) => r.rate))),
    runs.map((r) => formatShort(r.rate)).join(" / "),
    spread(runs.map((r) => r.rate)),
    formatNumber(median(runs.map((r) => r.p50Micros))),
    formatNumber(median(runs.map((r) => r.p99Micros))),
    formatNumber(median(runs.map((r) => r.cpuMicrosPerRequest).filter((v): v is number => v !== undefined)), 1),
    formatNumber(median(runs.map((r) => r.frontCpuMicrosPerRequest).filter((v): v is number => v !== undefined)), 1),
    String(runs.reduce((n, r) => n + r.errors, 0)),
  ]);
  const lines = [title, "", table(["system", "req/s", "runs", "spread", "p50 µs", "p99 µs", "server CPU µs/req (incl. nats)", "front CPU µs/req", "errors"], rows, "lrrlrrrrr"), ""];
  for (const [label, value] of Object.entries(result.ratios!)) {
    const target = targets[label];
    const verdict = target === undefined ? "(for information)" : `(target >= ${target}x: ${value >= target ? "met" : "MISSED"})`;
    lines.push(`${label.padEnd(50)} ${value.toFixed(2)}x  ${verdict}`);
  }
  return lines.join("\n");
}

function positive(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${variable} must be a positive number, got "${raw}"`);
  return value;
}

/** wrk from PATH, or installed with apt-get (Debian's `wrk`) when this is root on a Debian-like machine. */
async function ensureWrk(): Promise<string> {
  const found = which("wrk") ?? (isExecutable("/usr/bin/wrk") ? "/usr/bin/wrk" : undefined);
  if (found !== undefined) return found;
  const aptGet = which("apt-get");
  if (aptGet === undefined || !isRoot()) throw new Error("wrk is needed for the gateway benchmark: install it (Debian/Ubuntu: sudo apt-get install wrk; macOS: brew install wrk)");
  console.log("wrk not found; installing it: apt-get install -y wrk");
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let result = await runCommand(aptGet, ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "wrk"], { env });
  if (result.code !== 0) {
    await runCommand(aptGet, ["update", "-q", "-o", "DPkg::Lock::Timeout=120"], { env });
    result = await runCommand(aptGet, ["install", "-y", "-q", "-o", "DPkg::Lock::Timeout=120", "wrk"], { env });
  }
  const installed = which("wrk");
  if (result.code !== 0 || installed === undefined) throw new Error(`apt-get install wrk failed:\n${result.lines.slice(-10).join("\n")}`);
  return installed;
}
