/**
 * The client side of the RPC benchmark, one process per runtime. In one process run it
 * measures, interleaved round by round: raw `nc.request()` with default connection options,
 * raw `nc.request()` with `noAsyncTraces: true`, Moleculer 0.15's `broker.call()` over its NATS
 * transporter, and the typed jetmicro client over
 * `NatsTransport` with its default deadline. Progress goes to stderr; the report is one JSON
 * line on stdout after {@link resultPrefix}. `run.ts` sets `NATS_URL` and `NATS_PID`.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { connectNats, createClient, createDiscovery, createNatsRegistry, createSelector, natsConnectOptions, natsOptionsOf, NatsTransport } from "../runtime/mod.ts";
import { readSettings } from "../runtime/config/mod.ts";
import { exitWithParent, ownCpuMicros, processCpuMicros } from "./child-process.ts";
import { moleculerBroker } from "./moleculer.ts";
import {
  benchRegistryBucket,
  callTimeoutMs,
  type ClientReport,
  type Measurement,
  name,
  observedServices,
  rawSubject,
  resultPrefix,
  sampledTracing,
  serverCpuSubject,
  settingsFromEnv,
  type System,
  type Workload,
  workloads,
} from "./rpc-protocol.ts";
import { formatShort, LatencyRecorder } from "./stats.ts";
import { type Observed, startObserved } from "./observed.ts";

exitWithParent();
const settings = settingsFromEnv();
const servers = process.env.NATS_URL;
if (!servers) throw new Error("rpc-client: NATS_URL is not set");
const natsPid = Number(process.env.NATS_PID) || undefined;
const runtime = process.versions.bun === undefined ? "node" : "bun";
const version = process.versions.bun ?? process.versions.node;

// Every connection takes the credentials and TLS of the settings, as jetmicro's own do.
const natsSettings = readSettings();
const rawDefault = await connect({ ...natsConnectOptions(natsOptionsOf(natsSettings, "bench-raw-default", servers)), noAsyncTraces: false });
const rawNoTraces = await connect(natsConnectOptions(natsOptionsOf(natsSettings, "bench-raw-noAsyncTraces", servers)));
const jetmicroConnection = await connectNats(natsOptionsOf(natsSettings, "bench-jetmicro-client", servers));
const jetmicroTransport = new NatsTransport(jetmicroConnection);
const greeter = createClient(Greeter, jetmicroTransport);
// The same client with the selector on the call path: registry cache, round robin, retries.
const registry = await createNatsRegistry(jetmicroConnection, { bucket: benchRegistryBucket });
const discovery = createDiscovery({ registry, selector: createSelector({ strategy: "round_robin" }) });
const routedGreeter = createClient(Greeter, jetmicroTransport, { discovery });
// Moleculer's client: a broker that calls the server process's `greeter.sayHello` over NATS.
const moleculer = moleculerBroker(servers, `bench-client-${process.pid}`, callTimeoutMs);
await moleculer.start();
await moleculer.waitForServices("greeter", 30_000);
const expected = `Hello ${name}`;

/** One call of each system, encoding the request and decoding the reply as a caller would. */
function rawCall(nc: NatsConnection): () => Promise<string> {
  return async () => {
    const reply = await nc.request(rawSubject, JSON.stringify({ name }), { timeout: callTimeoutMs });
    return reply.json<{ message: string }>().message;
  };
}
// The observability pass's clients: `off` adds no client interceptor (the runner adds none with
// tracing and metrics off), `on` the tracing and metrics ones. Tracing is process-wide, so it
// starts only when `jetmicro-on` is measured: the main pass's processes never load it.
const observed: Observed | undefined = settings.systems.includes("jetmicro-on") ? await startObserved("bench-client") : undefined;
const offGreeter = createClient(Greeter, jetmicroTransport, { service: observedServices["jetmicro-off"] });
const onGreeter = createClient(Greeter, jetmicroTransport, { service: observedServices["jetmicro-on"], interceptors: observed?.client ?? [], observers: observed?.clientObservers ?? [] });
// One call in ten traced: a tracer of its own (the calls are roots, so the client decides).
const sampled: Observed | undefined = settings.systems.includes("jetmicro-sampled") ? await startObserved("bench-client", sampledTracing) : undefined;
const sampledGreeter = createClient(Greeter, jetmicroTransport, { service: observedServices["jetmicro-sampled"], interceptors: sampled?.client ?? [], observers: sampled?.clientObservers ?? [] });
const calls: Record<System, () => Promise<string>> = {
  "raw-default": rawCall(rawDefault),
  "raw-noAsyncTraces": rawCall(rawNoTraces),
  moleculer: async () => (await moleculer.call<{ message: string }, { name: string }>("greeter.sayHello", { name })).message,
  jetmicro: async () => (await greeter.sayHello({ name })).message,
  "jetmicro-routed": async () => (await routedGreeter.sayHello({ name })).message,
  "jetmicro-off": async () => (await offGreeter.sayHello({ name })).message,
  "jetmicro-on": async () => (await onGreeter.sayHello({ name })).message,
  "jetmicro-sampled": async () => (await sampledGreeter.sayHello({ name })).message,
};

async function serverCpuMicros(): Promise<number | undefined> {
  try {
    return (await rawDefault.request(serverCpuSubject, "", { timeout: 2_000 })).json<{ micros: number }>().micros;
  } catch {
    return undefined;
  }
}

let firstError: string | undefined;

/** Runs `system` with `workload`'s calls in flight (closed loop) for `seconds`. */
async function measure(system: System, workload: Workload, seconds: number, round: number): Promise<Measurement> {
  const call = calls[system];
  const latencies = new LatencyRecorder();
  let errors = 0;
  const server0 = await serverCpuMicros();
  const nats0 = natsPid === undefined ? undefined : processCpuMicros(natsPid);
  const client0 = ownCpuMicros();
  const start = performance.now();
  const stopAt = start + seconds * 1000;

  async function worker(): Promise<void> {
    while (performance.now() < stopAt) {
      const began = performance.now();
      try {
        await call();
        latencies.record((performance.now() - began) * 1000);
      } catch (error) {
        errors++;
        firstError ??= `${system} ${workload}: ${(error as Error).message}`;
      }
    }
  }
  await Promise.all(Array.from({ length: workloads[workload] }, worker));

  const elapsed = (performance.now() - start) / 1000;
  const client1 = ownCpuMicros();
  const nats1 = natsPid === undefined ? undefined : processCpuMicros(natsPid);
  const server1 = await serverCpuMicros();
  const completed = latencies.count;
  const perCall = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || completed === 0 ? undefined : (after - before) / completed;
  const { p50, p99 } = latencies.summary();
  return {
    system,
    workload,
    round,
    calls: completed,
    errors,
    seconds: elapsed,
    callsPerSecond: completed / elapsed,
    p50Micros: p50,
    p99Micros: p99,
    cpuMicrosPerCall: { client: perCall(client0, client1)!, server: perCall(server0, server1), nats: perCall(nats0, nats1) },
  };
}

function log(line: string): void {
  console.error(`[${runtime}] ${line}`);
}

// Fail fast and clearly if a system does not answer correctly.
for (const system of settings.systems) {
  const reply = await calls[system]();
  if (reply !== expected) throw new Error(`${system} answered ${JSON.stringify(reply)}`);
}

const workloadNames = settings.workloads;
if (settings.warmupSeconds > 0) {
  log(`warming up ${settings.warmupSeconds} s per system and workload`);
  for (const workload of workloadNames) {
    for (const system of settings.systems) await measure(system, workload, settings.warmupSeconds, 0);
  }
}

const measurements: Measurement[] = [];
for (let round = 1; round <= settings.rounds; round++) {
  // Rotate who goes first each round, so no system always runs right after another's load.
  const order = settings.systems.map((_, i) => settings.systems[(i + round - 1) % settings.systems.length]!);
  for (const workload of workloadNames) {
    for (const system of order) {
      const m = await measure(system, workload, settings.seconds, round);
      measurements.push(m);
      const latency = workload === "seq" ? `, p50 ${m.p50Micros.toFixed(0)} µs` : "";
      const errors = m.errors > 0 ? `, ${m.errors} errors` : "";
      log(`round ${round}/${settings.rounds} ${workload.padEnd(7)} ${system.padEnd(17)} ${formatShort(m.callsPerSecond)} calls/s${latency}${errors}`);
    }
  }
}

const report: ClientReport = { runtime, version, settings, firstError, measurements };
console.log(resultPrefix + JSON.stringify(report));
await discovery.close();
await registry.close();
await moleculer.stop();
await observed?.stop();
await sampled?.stop();
await Promise.all([rawDefault.close(), rawNoTraces.close(), jetmicroConnection.close()]);
// Let the loop end on its own (so --cpu-prof writes its profile), but never hang here.
setTimeout(() => process.exit(0), 2_000).unref();
