/**
 * `npm run bench` (third part): one call over HTTP through the gateway (HTTP → gateway →
 * NATS → greeter service → reply) against the same Hono app answering directly, and against
 * a direct NATS call of the service (raw `nc.request()`), interleaved in one run. The HTTP
 * load comes from `wrk` (installed with apt-get when missing, as nats-server is), the NATS
 * load from this process; the servers run in their own Bun process (`gateway-server.ts`).
 * Settings: BENCH_SECONDS (3), BENCH_ROUNDS (3), BENCH_CONNECTIONS (64: HTTP connections,
 * and NATS requests in flight), BENCH_GATEWAY_RUNTIME (`bun`, or `node` to serve the gateway
 * and the direct Hono app on Node, through tsx).
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { callSubject, natsErrorHeader } from "../runtime/protocol/mod.ts";
import { isExecutable, isRoot, runCommand, spawnProcess, which } from "../runtime/platform/process.ts";
import { formatNumber, LatencyRecorder, median, table } from "./stats.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const serverRuntime = process.env.BENCH_GATEWAY_RUNTIME === "node" ? "node" : "bun";
const root = dirname(dirname(fileURLToPath(import.meta.url)));
const body = '{"name":"Ada"}';

interface Run { readonly rate: number; readonly p50Micros: number; readonly p99Micros: number; readonly errors: number }

const wrk = await ensureWrk();
const scratch = mkdtempSync(join(tmpdir(), "jetmicro-bench-gw-"));
const script = join(scratch, "post.lua");
writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${body}'\nwrk.headers["Content-Type"] = "application/json"\n`);
const nats = await startNatsServer();
let server: ReturnType<typeof spawnProcess> | undefined;
try {
  let ready!: (ports: [number, number]) => void;
  const ports = new Promise<[number, number]>((resolve) => (ready = resolve));
  const bun = process.versions.bun === undefined ? join(root, "node_modules", ".bin", "bun") : process.execPath;
  const command = serverRuntime === "node" ? join(root, "node_modules", ".bin", "tsx") : bun;
  server = spawnProcess(command, [join(root, "bench", "gateway-server.ts")], {
    env: { NATS_URL: nats.url },
    dieWithParent: {},
    onLine: (line) => {
      const m = /^ready (\d+) (\d+)$/.exec(line);
      if (m) ready([Number(m[1]), Number(m[2])]);
      else console.error(`[server] ${line}`);
    },
  });
  const [gatewayPort, directPort] = await Promise.race([ports, server.exited.then(() => { throw new Error("the bench server exited"); })]);
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });

  const systems: Record<string, () => Promise<Run>> = {
    "gateway HTTP → service": () => runWrk(`http://127.0.0.1:${gatewayPort}/greeter/say-hello`),
    "Hono answering directly": () => runWrk(`http://127.0.0.1:${directPort}/greeter/say-hello`),
    "direct NATS call (raw nc.request)": () => runNats(nc),
  };
  const results: Record<string, Run[]> = {};
  for (const run of Object.values(systems)) await run(); // warm-up
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of Object.entries(systems)) (results[name] ??= []).push(await run());
  }
  await nc.close();

  const mid = (name: string, pick: (r: Run) => number) => median(results[name]!.map(pick));
  const where = serverRuntime === "node" ? "Node (tsx)" : `Bun ${process.versions.bun ?? "(via bun)"}`;
  console.log(`\n## gateway on ${where}: ${connections} connections / in flight, ${seconds} s x ${rounds} rounds, medians\n`);
  console.log(table(
    ["system", "calls/s", "p50 µs", "p99 µs", "errors"],
    Object.keys(systems).map((name) => [name, formatNumber(mid(name, (r) => r.rate)), formatNumber(mid(name, (r) => r.p50Micros)), formatNumber(mid(name, (r) => r.p99Micros)), String(results[name]!.reduce((n, r) => n + r.errors, 0))]),
    "lrrrr",
  ));
  const [gw, hono, raw] = Object.keys(systems).map((name) => mid(name, (r) => r.rate)) as [number, number, number];
  console.log(`\ngateway/Hono direct ${(gw / hono).toFixed(2)}x, gateway/raw NATS ${(gw / raw).toFixed(2)}x (calls/s)`);
} finally {
  server?.kill("SIGKILL");
  await server?.exited.catch(() => undefined);
  await nats.stop();
  rmSync(scratch, { recursive: true, force: true });
}

async function runWrk(url: string): Promise<Run> {
  const result = await runCommand(wrk, ["-t", "1", "-c", String(connections), "-d", `${seconds}s`, "--latency", "-s", script, url]);
  const text = result.lines.join("\n");
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (result.code !== 0 || rate === null) throw new Error(`wrk failed:\n${text}`);
  const micros = (label: string) => {
    const m = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m === null ? Number.NaN : Number(m[1]) * { us: 1, ms: 1000, s: 1_000_000 }[m[2] as "us" | "ms" | "s"];
  };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(text)?.[1] ?? 0);
  return { rate: Number(rate[1]), p50Micros: micros("50"), p99Micros: micros("99"), errors };
}

async function runNats(nc: Awaited<ReturnType<typeof connect>>): Promise<Run> {
  const payload = new TextEncoder().encode(body);
  const latencies = new LatencyRecorder();
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let errors = 0;
  const began = performance.now();
  const subject = callSubject({ namespace: "micro", service: "greeter", endpoint: "Greeter.SayHello" });
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const reply = await nc.request(subject, payload, { timeout: 5000 });
      if (reply.headers?.get(natsErrorHeader)) errors++;
      latencies.record((performance.now() - t) * 1000);
      done++;
    }
  }));
  const { p50, p99 } = latencies.summary();
  return { rate: (done / (performance.now() - began)) * 1000, p50Micros: p50, p99Micros: p99, errors };
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
