/**
 * The server side of the RPC benchmark, one process per runtime: a raw @nats-io responder
 * (queue subscription, callback mode, JSON in and out, like a typical hand-written service)
 * the Moleculer greeter (its own broker, NATS transporter) and the jetmicro greeter, side by
 * side on their own connections. `run.ts` starts it with
 * `NATS_URL` set and stops it with SIGTERM.
 * @module
 */
import { connect } from "@nats-io/transport-node";
import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { connectNats, createNatsRegistry, defineService, natsConnectOptions, natsOptionsOf, NatsTransport, startService } from "../runtime/mod.ts";
import { readSettings } from "../runtime/config/mod.ts";
import { serviceRecord } from "../runtime/registry/records.ts";
import { exitWithParent, ownCpuMicros } from "./child-process.ts";
import { addMoleculerGreeter, moleculerBroker } from "./moleculer.ts";
import { benchRegistryBucket, observedServices, rawQueue, rawSubject, readyLine, sampledTracing, serverCpuSubject } from "./rpc-protocol.ts";
import { collectInstance } from "../runtime/observability/call-metrics.ts";
import { observabilityFrom } from "../runtime/observability/setup.ts";
import { type Observed, startObserved } from "./observed.ts";

exitWithParent();
const servers = process.env.NATS_URL;
if (!servers) throw new Error("rpc-server: NATS_URL is not set");

// The raw service: what a NATS user writes by hand.
// Every connection takes the credentials and TLS of the settings, as jetmicro's own do.
const natsSettings = readSettings();
const rawConnection = await connect({ ...natsConnectOptions(natsOptionsOf(natsSettings, "bench-raw-server", servers)), noAsyncTraces: false });
rawConnection.subscribe(rawSubject, {
  queue: rawQueue,
  callback: (error, msg) => {
    if (error) return;
    const request = msg.json<{ name: string }>();
    msg.respond(JSON.stringify({ message: `Hello ${request.name}` }));
  },
});
rawConnection.subscribe(serverCpuSubject, {
  callback: (_error, msg) => {
    msg.respond(JSON.stringify({ micros: ownCpuMicros() }));
  },
});

// The same greeting as a jetmicro service, with a mailbox that never refuses 256 in flight.
const greeter = defineService(Greeter, { mailbox: { capacity: 10_000, concurrency: 1_000 } }, {
  async sayHello(request) {
    return { message: `Hello ${request.name}` };
  },
});
const jetmicroConnection = await connectNats(natsOptionsOf(natsSettings, "bench-jetmicro-server", servers));
const instance = await startService(greeter, {
  connection: jetmicroConnection,
  transport: new NatsTransport(jetmicroConnection),
});
// The observability pass: the same greeting with what the runner adds when tracing and metrics
// are off (the failed-call log observer), with both on, and with both on and one call in ten traced.
const observers: Observed[] = [];
const observedInstances: Array<{ stop(): Promise<void> }> = [];
if (process.env.BENCH_OBSERVABILITY === "1") {
  const off = await observabilityFrom({ logLevel: "info" }, { env: {}, metrics: false });
  const handler = { async sayHello(request: { name: string }) {
    return { message: `Hello ${request.name}` };
  } };
  const mailbox = { capacity: 10_000, concurrency: 1_000 };
  const options = { connection: jetmicroConnection, transport: new NatsTransport(jetmicroConnection) };
  observedInstances.push(await startService(defineService(Greeter, { name: observedServices["jetmicro-off"], mailbox, interceptors: off.serverInterceptors, observers: off.serverObservers }, handler), options));
  // `on` and `sampled`: each a tracer and a metrics registry of its own.
  for (const [system, sampler] of [["jetmicro-on", process.env], ["jetmicro-sampled", sampledTracing]] as const) {
    const observed = await startObserved("bench-server", sampler);
    observers.push(observed);
    const instance = await startService(defineService(Greeter, {
      name: observedServices[system],
      mailbox,
      interceptors: [...observed.server, ...off.serverInterceptors],
      observers: [...observed.serverObservers, ...off.serverObservers],
    }, handler), options);
    observedInstances.push(instance);
    collectInstance(observed.metrics, instance);
  }
}
// Registered like the runner does, so the routed client finds this node through the registry.
const registry = await createNatsRegistry(jetmicroConnection, { bucket: benchRegistryBucket });
await registry.register(serviceRecord(greeter, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace }, 60_000));
// The Moleculer peer: a broker of its own on the same nats-server, the same greeting.
const moleculer = moleculerBroker(servers, `bench-server-${process.pid}`);
addMoleculerGreeter(moleculer);
await moleculer.start();
await rawConnection.flush();
console.log(readyLine);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const forced = setTimeout(() => process.exit(1), 5_000);
  await registry.deregister(serviceRecord(greeter, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace }, 60_000));
  await registry.close();
  await instance.stop();
  for (const i of observedInstances) await i.stop();
  for (const observed of observers) await observed.stop();
  await moleculer.stop();
  await Promise.all([rawConnection.drain(), jetmicroConnection.drain()]);
  clearTimeout(forced);
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
