/**
 * The per-call CPU of tracing alone, without NATS: a typed client and a service's dispatch in
 * one process, the client's transport handing each request straight to the dispatch (headers
 * encoded as nats.js sends them, read as the server reads them), spans exported to an OTLP
 * sink in a child process. Setups, all in this one process and measured in turns (so a busy
 * machine slows each alike): `plain` (no observer), `observers` (observers that do nothing, on
 * both sides), `noop` (one pass-on interceptor per side), `unsampled` (tracing with
 * `always_off`: the context work without spans) and `tracing` (every call traced and
 * exported). Prints CPU ns per call of each, min and median of its runs, and each one's extra
 * over `plain`. `TRACE_SETUPS` picks setups (comma-separated), `TRACE_CALLS` the calls per
 * run (20000), `TRACE_ROUNDS` the turns (7). `node --import tsx bench/trace-cost.ts`,
 * `bun bench/trace-cost.ts`.
 * @module
 */
import { spawn } from "node:child_process";
import { create, toBinary } from "@bufbuild/protobuf";
import type { MsgHdrsImpl } from "@nats-io/nats-core";
import { Greeter, SayHelloResponseSchema } from "../gen/greeter/v1/greeter_pb.ts";
import type { Transport } from "../runtime/client/transport.ts";
import { createClient, defineService } from "../runtime/mod.ts";
import { startTracing } from "../runtime/observability/tracing.ts";
import { type CallObserver, type Interceptor, MsgRequestHeaders } from "../runtime/protocol/mod.ts";
import { createDispatch } from "../runtime/server/dispatch.ts";
import type { InstanceInfo } from "../runtime/server/handler-context.ts";

const allSetups = ["plain", "observers", "noop", "unsampled", "tracing"] as const;
type Setup = typeof allSetups[number];
const picked = (process.env.TRACE_SETUPS ?? allSetups.join(",")).split(",").map((s) => s.trim()) as Setup[];
for (const s of picked) if (!allSetups.includes(s)) throw new Error(`TRACE_SETUPS: unknown setup "${s}" (known: ${allSetups.join(", ")})`);
const setups = picked.includes("plain") ? picked : ["plain" as const, ...picked];
const inFlight = 64;
const callsPerRun = Number(process.env.TRACE_CALLS) || 20_000;
const rounds = Number(process.env.TRACE_ROUNDS) || 7;

const sink = spawn(process.execPath, ["-e", `
  const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => r.writeHead(200).end()); });
  s.listen(0, "127.0.0.1", () => console.log(s.address().port));
  setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);
`], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<string>((resolve) => sink.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));

const passOn: Interceptor = (next) => function passOn(request) {
  return next(request);
};
const idle: CallObserver = { started() {}, succeeded() {}, failed() {} };
const tracers = {
  unsampled: setups.includes("unsampled") ? await startTracing("trace-cost", { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_TRACES_SAMPLER: "always_off" }) : undefined,
  tracing: setups.includes("tracing") ? await startTracing("trace-cost", { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_TRACES_SAMPLER: "always_on" }) : undefined,
};
const reply = { data: toBinary(SayHelloResponseSchema, create(SayHelloResponseSchema, { message: "Hello" })), headers: undefined };

/** One setup's client, calling its own service's dispatch as NATS would hand it the request. */
function clientOf(setup: Setup) {
  const tracer = setup === "unsampled" || setup === "tracing" ? tracers[setup] : undefined;
  const interceptors = setup === "noop" ? [passOn] : [];
  const greeter = defineService(Greeter, {
    mailbox: { capacity: 10_000, concurrency: 1_000 },
    interceptors,
    observers: tracer ? [tracer.serverObserver] : setup === "observers" ? [idle] : [],
  }, {
    async sayHello(request) {
      return { message: `Hello ${request.name}` };
    },
  });
  const info: InstanceInfo = {
    service: { name: greeter.name, version: greeter.version, nodeId: "trace-cost" },
    id: `trace-cost-${setup}`,
    transport: undefined as never,
    namespace: "micro",
    stopSignal: new AbortController().signal,
  };
  const { dispatch } = createDispatch(greeter, info, (error) => {
    throw error;
  });
  const transport: Transport = {
    request: async (_subject, data, headers) => {
      const header = (headers as MsgHdrsImpl).encode();
      const raw = new Uint8Array(header.length + data.length);
      raw.set(header);
      raw.set(data, header.length);
      const received = { _msg: { hdr: header.length }, _rdata: raw, reply: "_INBOX.bench.1" } as never;
      await dispatch("Greeter.SayHello", data, new MsgRequestHeaders(received), Date.now());
      return reply;
    },
    close: () => Promise.resolve(),
  };
  return createClient(Greeter, transport, { interceptors, observers: tracer ? [tracer.clientObserver] : setup === "observers" ? [idle] : [] });
}

const clients = new Map(setups.map((s) => [s, clientOf(s)]));
const run = async (setup: Setup) => {
  const client = clients.get(setup)!;
  for (let i = 0; i < callsPerRun; i += inFlight) {
    const calls: Promise<unknown>[] = [];
    for (let j = 0; j < inFlight; j++) calls.push(client.sayHello({ name: "Ada" }));
    await Promise.all(calls);
    // Lets I/O (the span export) run, as it does between calls that cross a network.
    await new Promise((resolve) => setImmediate(resolve));
  }
};
for (const s of setups) await run(s);
const ns = new Map<Setup, number[]>(setups.map((s) => [s, []]));
for (let r = 0; r < rounds; r++) {
  for (const s of setups) {
    const before = process.cpuUsage();
    await run(s);
    const used = process.cpuUsage(before);
    ns.get(s)!.push(((used.user + used.system) * 1000) / callsPerRun);
  }
}
const runtime = process.versions.bun ? "bun" : "node";
const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[sorted.length >> 1]! };
};
const plain = stats(ns.get("plain")!);
for (const s of setups) {
  const { min, median } = stats(ns.get(s)!);
  const extra = s === "plain" ? "" : `   extra over plain: min ${(min - plain.min).toFixed(0)} median ${(median - plain.median).toFixed(0)}`;
  console.log(`${runtime} ${s.padEnd(10)} CPU ns/call min ${min.toFixed(0)} median ${median.toFixed(0)}${extra}`);
}
await Promise.all([tracers.unsampled?.shutdown(), tracers.tracing?.shutdown()]);
sink.kill();
process.exit(0);
