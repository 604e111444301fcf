/**
 * CPU per call of a service's unary dispatch alone (decode, interceptors, handler, encode), no
 * NATS: `node --import tsx bench/dispatch-cost.ts plain|off|noop|metrics`. `plain` is the
 * service alone, `noop` one service interceptor that only passes the call on, `off` what the
 * runner adds with tracing and metrics off, `metrics` what it adds with metrics on. Steadier
 * than `bench/observed-cost.ts` on a shared machine, for the server's per-call overhead.
 * @module
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Greeter, SayHelloRequestSchema } from "../gen/greeter/v1/greeter_pb.ts";
import { type CallObserver, headersOf, type Interceptor, requestHeaders } from "../runtime/protocol/mod.ts";
import { defineService } from "../runtime/service/define.ts";
import { createDispatch } from "../runtime/server/dispatch.ts";
import { observabilityFrom } from "../runtime/observability/setup.ts";
const passOn: Interceptor = (next) =>
  function passOn(r) {
    return next(r);
  };
const mode = process.argv[2] ?? "plain";
let interceptors: Interceptor[] = mode === "noop" ? [passOn] : [];
let observers: CallObserver[] = [];
if (mode === "off" || mode === "metrics") {
  const runner = await observabilityFrom({ logLevel: "info" }, { env: {}, metrics: mode === "metrics" });
  interceptors = [...runner.serverInterceptors];
  observers = [...(runner.serverObservers)];
}
const def = defineService(Greeter, { interceptors, observers }, {
  async sayHello(r) {
    return { message: `Hello ${r.name}` };
  },
});
const info = { service: { name: def.name, version: def.version, nodeId: "n" }, id: "n", transport: undefined as never, namespace: "micro", stopSignal: new AbortController().signal };
const { dispatch } = createDispatch(def, info, () => {});
const data = toBinary(SayHelloRequestSchema, create(SayHelloRequestSchema, { name: "Ada" }));
const h = headersOf(requestHeaders({ timeoutMs: 5000 }));
const run = async (n: number) => {
  for (let i = 0; i < n; i += 64) await Promise.all(Array.from({ length: 64 }, () => dispatch("Greeter.SayHello", data, h, Date.now())));
};
await run(50000);
const before = process.cpuUsage();
await run(200_000);
const used = process.cpuUsage(before);
console.log(JSON.stringify({ mode, runtime: process.versions.bun ? "bun" : "node", cpuMicrosPerCall: Math.round((used.user + used.system) / 200_000 * 100) / 100 }));
