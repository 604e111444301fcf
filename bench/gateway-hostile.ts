/**
 * `npm run bench` (last part): normal calls through the gateway with 10 % hostile requests
 * mixed in, against a clean run, in interleaved rounds (issue 14's goal: normal throughput of
 * the mixed run within 10 % of the clean one, so ratio ≥ 0.9).
 *
 * Both runs are the same closed loop over real HTTP (`tests/gateway/hostile-mix.ts`, the
 * traffic `tests/gateway/hostile-load.test.ts` checks): BENCH_IN_FLIGHT requests in flight,
 * in the mixed run every tenth request one of the known attacks (deep JSON, invalid UTF-8,
 * 5,000-character paths and topics, huge and too many headers, bad content types, hostile
 * topics and users, spoofed sources, two Content-Length headers over a raw socket). A hostile
 * request takes its worker's turn, so a ratio of 0.9 means an attack costs as much as a normal
 * call; above it, attacks are refused for less than a call costs.
 *
 * The gateway, the greeter service, events and the sidecar run in a child process (this file
 * with `serve`), so the load generator does not share their event loop; the child's CPU time
 * per normal call is printed too, a figure other load on the machine disturbs less.
 * Settings: BENCH_SECONDS (3 per run), BENCH_ROUNDS (5), BENCH_IN_FLIGHT (32).
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createGateway } from "../gateway/app.ts";
import { createSidecar } from "../gateway/sidecar/mod.ts";
import { readSettings } from "../runtime/config/mod.ts";
import { connectNats, createJetStreamBroker, NatsTransport, natsOptionsOf } from "../runtime/mod.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { serveHttp } from "../runtime/platform/http-server.ts";
import { spawnProcess } from "../runtime/platform/process.ts";
import { createNatsRegistry } from "../runtime/registry/nats-kv.ts";
import greeter from "../services/greeter.ts";
import { hostileCases, type MixResult, runMix } from "../tests/gateway/hostile-mix.ts";
import { startRegistered } from "../tests/support/registered.ts";
import { exitWithParent, processCpuMicros } from "./child-process.ts";
import { formatNumber, median, spread, table } from "./stats.ts";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 32);

if (process.argv[2] === "serve") await serve(process.env.NATS_URL!);
else await orchestrate();

/** The child: greeter, events and sidecar behind the gateway, as `hostile-load.test.ts` has them. */
async function serve(url: string): Promise<void> {
  exitWithParent();
  const nc = await connectNats(natsOptionsOf(readSettings(), "bench-gateway-hostile", url));
  const transport = new NatsTransport(nc);
  const registry = await createNatsRegistry(nc);
  const broker = await createJetStreamBroker(nc);
  await startRegistered(greeter, { nc, transport }, registry);
  const sidecar = createSidecar({ connection: nc, transport, registry, broker, log: () => {} });
  const gateway = await serveHttp(createGateway({ transport, registry, broker, sidecar }).fetch, { port: 0 });
  console.log(`ready ${gateway.port} ${process.pid}`);
}

interface Run { readonly rate: number; readonly cpuPerCall: number; readonly failed: number; readonly wrong: number }

async function orchestrate(): Promise<void> {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const nats = await startNatsServer();
  let server: ReturnType<typeof spawnProcess> | undefined;
  try {
    let ready!: (v: [number, number]) => void;
    const started = new Promise<[number, number]>((resolve) => (ready = resolve));
    const bun = process.versions.bun === undefined ? join(root, "node_modules", ".bin", "bun") : process.execPath;
    server = spawnProcess(bun, [fileURLToPath(import.meta.url), "serve"], {
      env: { NATS_URL: nats.url },
      dieWithParent: {},
      onLine: (line) => {
        const m = /^ready (\d+) (\d+)$/.exec(line);
        if (m) ready([Number(m[1]), Number(m[2])]);
        else console.error(`[server] ${line}`);
      },
    });
    const [port, pid] = await Promise.race([started, server.exited.then(() => { throw new Error("the bench server exited"); })]);
    const base = `http://127.0.0.1:${port}`;

    const measure = async (hostileEvery: number): Promise<Run> => {
      const cpu0 = processCpuMicros(pid);
      const result = await runMix({ base, inFlight, hostileEvery, durationMs: seconds * 1000 });
      const cpu1 = processCpuMicros(pid);
      const cpuPerCall = cpu0 === undefined || cpu1 === undefined ? Number.NaN : (cpu1 - cpu0) / result.normalOk;
      return { rate: (result.normalOk / result.elapsedMs) * 1000, cpuPerCall, failed: result.normalFailed.length, wrong: wrongHostile(result) };
    };
    const systems: Record<string, () => Promise<Run>> = {
      "clean (normal calls only)": () => measure(0),
      "10 % hostile mixed in": () => measure(10),
    };
    const names = Object.keys(systems);
    const results: Record<string, Run[]> = {};
    for (const run of Object.values(systems)) await run(); // warm-up
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so a drift in the machine's load falls on both alike.
      const order = round % 2 === 0 ? names : [...names].reverse();
      for (const name of order) (results[name] ??= []).push(await systems[name]!());
    }

    const rates = (name: string) => results[name]!.map((r) => r.rate);
    const sum = (name: string, pick: (r: Run) => number) => results[name]!.reduce((n, r) => n + pick(r), 0);
    console.log(`\n## gateway with hostile requests mixed in (${hostileCases.length} kinds): ${inFlight} in flight, ${seconds} s x ${rounds} rounds, medians\n`);
    console.log(table(
      ["run", "normal calls/s", "spread", "gateway CPU µs / normal call", "failed normal calls", "hostile not refused as expected"],
      names.map((name) => [name, formatNumber(median(rates(name))), spread(rates(name)), formatNumber(median(results[name]!.map((r) => r.cpuPerCall))), String(sum(name, (r) => r.failed)), String(sum(name, (r) => r.wrong))]),
      "lrrrrr",
    ));
    // The ratio of each round's pair, then their median: a pair ran back to back, under the same load.
    const ratios = results[names[0]!]!.map((clean, i) => results[names[1]!]![i]!.rate / clean.rate);
    const ratio = median(ratios);
    console.log(`\nnormal throughput mixed/clean ${ratio.toFixed(2)} (rounds: ${ratios.map((r) => r.toFixed(2)).join(", ")}; goal ≥ 0.90: ${ratio >= 0.9 ? "met" : "NOT met"})`);
  } finally {
    server?.kill("SIGKILL");
    await server?.exited.catch(() => undefined);
    await nats.stop();
  }
}

/** Hostile requests that did not get the status their case expects (a 5xx, a hang, a wrong 4xx). */
function wrongHostile(result: MixResult): number {
  let wrong = 0;
  for (const [name, statuses] of result.hostile) {
    const expected = hostileCases.find((c) => c.name === name)!.expected;
    wrong += statuses.filter((s) => s !== expected).length;
  }
  return wrong;
}
