/**
 * The per-call CPU of jetmicro's own code, without NATS: the server's dispatch (header reads,
 * mailbox deadline, decode, handler, encode, stats) and the typed client (plain and routed
 * through discovery and the selector, over a transport that answers at once). 256 calls in
 * flight, like the RPC benchmark; prints CPU ns per call (min and median of 5 runs). Much
 * steadier than end-to-end numbers on a shared machine: use it to compare two versions of
 * the call path, run by run (`bun bench/call-path.ts`, `node --import tsx bench/call-path.ts`;
 * `--cpu-prof` on either shows where the time goes). `server off` and `server metrics` are the
 * server with what the runner adds with tracing and metrics off, and with metrics on;
 * `client metrics` the client with the runner's metrics observer.
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Greeter, SayHelloRequestSchema, SayHelloResponseSchema } from "../gen/greeter/v1/greeter_pb.ts";
import { NodeLiveness } from "../runtime/client/node-liveness.ts";
import type { Transport } from "../runtime/client/transport.ts";
import { createClient, createDiscovery, createSelector, defineService } from "../runtime/mod.ts";
import { MsgRequestHeaders, streamHeader } from "../runtime/protocol/mod.ts";
import { createMemoryRegistry } from "../runtime/registry/memory.ts";
import { observabilityFrom } from "../runtime/observability/setup.ts";
import type { CallObserver, Interceptor } from "../runtime/protocol/mod.ts";
import { serviceRecord } from "../runtime/registry/records.ts";
import { createDispatch } from "../runtime/server/dispatch.ts";
import type { InstanceInfo } from "../runtime/server/handler-context.ts";
import { name } from "./rpc-protocol.ts";

const inFlight = 256;
const callsPerRun = 100_000;
const runtime = process.versions.bun === undefined ? "node" : "bun";

/** CPU ns per call of `call`, min and median of 5 runs after a warm-up run. */
async function measure(label: string, call: () => Promise<unknown>): Promise<void> {
  const run = async () => {
    for (let i = 0; i < callsPerRun; i += inFlight) {
      const calls: Promise<unknown>[] = [];
      for (let j = 0; j < inFlight; j++) calls.push(call());
      await Promise.all(calls);
    }
  };
  await run();
  const ns: number[] = [];
  for (let r = 0; r < 5; r++) {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    ns.push(((used.user + used.system) * 1000) / callsPerRun);
  }
  ns.sort((a, b) => a - b);
  console.log(`${runtime} ${label.padEnd(14)} CPU ns/call min ${ns[0]!.toFixed(0)} median ${ns[2]!.toFixed(0)}`);
}

// The server: the bench's greeter, a request as the typed client sends it (Micro-Timeout only).
const greeterWith = (interceptors: readonly Interceptor[] = [], observers: readonly CallObserver[] = []) =>
  defineService(Greeter, { mailbox: { capacity: 10_000, concurrency: 1_000 }, interceptors: [...interceptors], observers: [...observers] }, {
    async sayHello(request) {
      return { message: `Hello ${request.name}` };
    },
  });
const greeter = greeterWith();
// What the runner adds (observability from its settings), off and with metrics on.
const runnerOff = await observabilityFrom({ logLevel: "info" }, { env: {}, metrics: false });
const runnerMetrics = await observabilityFrom({ logLevel: "info" }, { env: {}, metrics: true });
// Older versions had no observers: everything was an interceptor.
const observersOf = (o: typeof runnerOff) => (o as { serverObservers?: readonly CallObserver[] }).serverObservers ?? [];
const info: InstanceInfo = {
  service: { name: greeter.name, version: greeter.version, nodeId: "greeter-bench" },
  id: "greeter-bench",
  transport: undefined as never,
  namespace: "micro",
  stopSignal: new AbortController().signal,
};
const dispatchOf = (definition: typeof greeter) =>
  createDispatch(definition, info, (error) => {
    throw error;
  }).dispatch;
const dispatch = dispatchOf(greeter);
const data = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name }));
const header = new TextEncoder().encode("NATS/1.0\r\nMicro-Timeout: 10000\r\n\r\n");
const raw = new Uint8Array(header.length + data.length);
raw.set(header);
raw.set(data, header.length);
// The fields of a received nats.js message that MsgRequestHeaders reads.
const received = () => ({ _msg: { hdr: header.length }, _rdata: raw, reply: "_INBOX.bench.1" }) as never;
const serve = (d: typeof dispatch) => () => {
  const headers = new MsgRequestHeaders(received());
  if (headers.get(streamHeader) !== undefined) throw new Error("not a stream");
  return d("Greeter.SayHello", data, headers, Date.now());
};
await measure("server", serve(dispatch));
await measure("server off", serve(dispatchOf(greeterWith(runnerOff.serverInterceptors, observersOf(runnerOff)))));
await measure("server metrics", serve(dispatchOf(greeterWith(runnerMetrics.serverInterceptors, observersOf(runnerMetrics)))));

// The client: plain, and routed (registry snapshot, round robin, breaker, liveness).
const reply = { data: toBinary(SayHelloResponseSchema, create(SayHelloResponseSchema, { message: "Hello" })), headers: undefined };
const liveness = new NodeLiveness({ subscribe: () => ({ unsubscribe() {} }) } as never, "micro");
const transport: Transport = { request: () => Promise.resolve(reply), liveness: () => liveness, close: () => Promise.resolve() };
const registry = createMemoryRegistry();
await registry.register(serviceRecord(greeter, { id: "greeter-bench", address: "micro.node.greeter-bench", namespace: "micro" }, 60_000));
const discovery = createDiscovery({ registry, selector: createSelector({ strategy: "round_robin" }) });
const plain = createClient(Greeter, transport);
const routed = createClient(Greeter, transport, { discovery });
await measure("client", () => plain.sayHello({ name }));
await measure("client routed", () => routed.sayHello({ name }));
const metered = createClient(Greeter, transport, { interceptors: [...runnerMetrics.clientInterceptors], observers: [...runnerMetrics.clientObservers] });
await measure("client metrics", () => metered.sayHello({ name }));
liveness.close();
await discovery.close();
process.exit(0);
