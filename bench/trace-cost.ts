/**
 * The per-call CPU of tracing alone, without NATS: a typed client and a service's dispatch in
 * one process, the client's transport handing each request straight to the dispatch (headers
 * as the server reads them), spans exported to an OTLP sink in a child process. Modes:
 * `plain` (no interceptor), `noop` (one pass-on interceptor per side), `tracing` (every call
 * traced and exported), `unsampled` (tracing with `always_off`: the context work without
 * spans). Prints CPU ns per call, min and median of 7 runs: steadier than
 * `bench/observed-cost.ts` on a shared machine. `node --import tsx bench/trace-cost.ts tracing`,
 * `bun bench/trace-cost.ts tracing`.
 * @module
 */
import { spawn } from "node:child_process";
import { create, toBinary } from "@bufbuild/protobuf";
import { Greeter, SayHelloResponseSchema } from "../gen/greeter/v1/greeter_pb.ts";
import type { Transport } from "../runtime/client/transport.ts";
import { createClient, defineService } from "../runtime/mod.ts";
import { startTracing } from "../runtime/observability/tracing.ts";
import type { MsgHdrsImpl } from "@nats-io/nats-core";
import { type Interceptor, MsgRequestHeaders } from "../runtime/protocol/mod.ts";
import { createDispatch } from "../runtime/server/dispatch.ts";
import type { InstanceInfo } from "../runtime/server/handler-context.ts";

const mode = process.argv[2] ?? "tracing";
const inFlight = 64;
const callsPerRun = 20_000;

const sink = spawn(process.execPath, ["-e", `
  const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => r.writeHead(200).end()); });
  s.listen(0, "127.0.0.1", () => console.log(s.address().port));
  setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);
`], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<string>((resolve) => sink.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));

const passOn: Interceptor = (next) => function passOn(request) {
  return next(request);
};
const tracing = mode === "tracing" || mode === "unsampled"
  ? await startTracing("trace-cost", { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, OTEL_TRACES_SAMPLER: mode === "unsampled" ? "always_off" : "always_on" })
  : undefined;
const server = mode === "noop" ? [passOn] : [];
const observers = tracing ? [tracing.serverObserver] : [];
const client = mode === "noop" ? [passOn] : [];

const greeter = defineService(Greeter, { mailbox: { capacity: 10_000, concurrency: 1_000 }, interceptors: server, observers }, {
  async sayHello(request) {
    return { message: `Hello ${request.name}` };
  },
});
const info: InstanceInfo = {
  service: { name: greeter.name, version: greeter.version, nodeId: "trace-cost" },
  id: "trace-cost",
  transport: undefined as never,
  namespace: "micro",
  stopSignal: new AbortController().signal,
};
const { dispatch } = createDispatch(greeter, info, (error) => {
  throw error;
});
const reply = { data: toBinary(SayHelloResponseSchema, create(SayHelloResponseSchema, { message: "Hello" })), headers: undefined };
// As over NATS: the client's headers encoded to bytes, the server reading them raw.
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
const greeterClient = createClient(Greeter, transport, { interceptors: client, observers: tracing ? [tracing.clientObserver] : [] });

const run = async () => {
  for (let i = 0; i < callsPerRun; i += inFlight) {
    const calls: Promise<unknown>[] = [];
    for (let j = 0; j < inFlight; j++) calls.push(greeterClient.sayHello({ name: "Ada" }));
    await Promise.all(calls);
    // Lets I/O (the span export) run, as it does between calls that cross a network.
    await new Promise((resolve) => setImmediate(resolve));
  }
};
await run();
const ns: number[] = [];
for (let r = 0; r < 7; r++) {
  const before = process.cpuUsage();
  await run();
  const used = process.cpuUsage(before);
  ns.push(((used.user + used.system) * 1000) / callsPerRun);
}
ns.sort((a, b) => a - b);
console.log(`${process.versions.bun ? "bun" : "node"} ${mode.padEnd(10)} CPU ns/call min ${ns[0]!.toFixed(0)} median ${ns[3]!.toFixed(0)}`);
await tracing?.shutdown();
sink.kill();
process.exit(0);
