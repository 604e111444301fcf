/**
 * CPU per call of one observability setup, client and server in this one process, the OTLP
 * sink in a child process (so exporting is charged, receiving is not): `node --import tsx
 * bench/observed-cost.ts plain|off|noop|metrics|tracing|both|sampled`. `plain` is the service and
 * client alone; `off` what the runner adds with tracing and metrics off (`observabilityFrom`:
 * the failed-call log); `metrics` what it adds with metrics on; `noop` one interceptor that only
 * passes the call on, on each side. For profiling the interceptors
 * (see `COST_PROFILE`); `bench/run.ts` measures the same across processes.
 * Environment: `COST_CALLS` (20000), `COST_CONCURRENCY` (64), `COST_PROFILE=<file>` (a CPU profile of
 * the measured calls alone, Node); `sampled` is both with `parentbased_traceidratio` at 0.1.
 * @module
 */
import { spawn } from "node:child_process";
import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { connectNats, createClient, defineService, NatsTransport, startService } from "../runtime/mod.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { observabilityFrom } from "../runtime/observability/setup.ts";
import { startTracing } from "../runtime/observability/tracing.ts";
import type { CallObserver, Interceptor } from "../runtime/protocol/mod.ts";
import { ownCpuMicros } from "./child-process.ts";

const mode = process.argv[2] ?? "plain";
const calls = Number(process.env.COST_CALLS) || 20_000;
const concurrency = Number(process.env.COST_CONCURRENCY) || 64;
const tracingOn = mode === "tracing" || mode === "both" || mode === "sampled";
const metricsOn = mode === "metrics" || mode === "both" || mode === "sampled";

// The sink: accepts and discards OTLP requests, in its own process.
const sink = spawn(process.execPath, ["-e", `
  const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => r.writeHead(200).end()); });
  s.listen(0, "127.0.0.1", () => console.log(s.address().port));
  setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);
`], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<string>((resolve) => sink.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));

const nats = await startNatsServer({});
try {
  const server: Interceptor[] = [];
  const client: Interceptor[] = [];
  const observers: CallObserver[] = [];
  const clientObservers: CallObserver[] = [];
  // Also in the process environment, for comparing with a tracer that read it from there.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  const tracing = tracingOn
    ? await startTracing("cost", {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      ...(mode === "sampled" ? { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" } : {}),
      // Any other sampler to compare, e.g. always_off: the context handling without records.
      ...(process.env.OTEL_TRACES_SAMPLER ? { OTEL_TRACES_SAMPLER: process.env.OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG: process.env.OTEL_TRACES_SAMPLER_ARG } : {}),
    })
    : undefined;
  // As the runner puts them: observers (interceptors in async context mode).
  if (tracing) {
    if (tracing.asyncContext) server.push(tracing.serverInterceptor), client.push(tracing.clientInterceptor);
    else observers.push(tracing.serverObserver), clientObservers.push(tracing.clientObserver);
  }
  if (mode === "noop") {
    // The cost of having interceptors at all: one that only passes the call on, on both sides.
    const passOn: Interceptor = (next) => function passOn(request) {
      return next(request);
    };
    if (process.env.NOOP_SIDE !== "client") server.push(passOn);
    if (process.env.NOOP_SIDE !== "server") client.push(passOn);
  }
  if (mode !== "plain" && mode !== "noop") {
    // What the runner adds besides tracing: the failed-call log, and metrics when on.
    const runner = await observabilityFrom({ logLevel: "info" }, { env: {}, metrics: metricsOn });
    server.push(...runner.serverInterceptors), client.push(...runner.clientInterceptors);
    observers.push(...runner.serverObservers), clientObservers.push(...runner.clientObservers);
  }
  const nc = await connectNats({ servers: nats.url, name: "cost" });
  const transport = new NatsTransport(nc);
  const instance = await startService(defineService(Greeter, { mailbox: { capacity: 10_000, concurrency: 1_000 }, interceptors: server, observers }, {
    async sayHello(request) {
      return { message: `Hello ${request.name}` };
    },
  }), { connection: nc, transport });
  const greeter = createClient(Greeter, transport, { interceptors: client, observers: clientObservers });
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next++ < n) await greeter.sayHello({ name: "Ada" });
    }));
  };
  await run(calls / 4); // warm-up
  const inspector = process.env.COST_PROFILE ? await import("node:inspector/promises") : undefined;
  const session = inspector ? new inspector.Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  const before = ownCpuMicros();
  const started = performance.now();
  await run(calls);
  const cpu = ownCpuMicros() - before;
  const seconds = (performance.now() - started) / 1000;
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    (await import("node:fs")).writeFileSync(process.env.COST_PROFILE!, JSON.stringify(profile));
  }
  console.log(JSON.stringify({ mode, runtime: process.versions.bun ? "bun" : "node", cpuMicrosPerCall: Math.round(cpu / calls * 10) / 10, callsPerSecond: Math.round(calls / seconds) }));
  await tracing?.shutdown();
  await instance.stop();
  await nc.drain();
} finally {
  await nats.stop();
  sink.kill();
}
