/**
 * `npm run bench` (third part): calls/s to keyed actors, to many keys and to one hot key, with
 * and without durable mailboxes, against the same handlers as a plain service (state in a
 * Map, no persistence) in the same run. One process, one nats-server (file storage), one node
 * of each; the client keeps BENCH_ACTOR_IN_FLIGHT calls in flight.
 * Settings: BENCH_ACTOR_CALLS (4000 per measurement), BENCH_ROUNDS (3), BENCH_ACTOR_IN_FLIGHT (128).
 * @module
 */
import { Cart } from "../gen/cart/v1/cart_pb.ts";
import { type ActorContext, connectNats, createClient, defineActor, defineService, NatsTransport, startActor, startService } from "../runtime/mod.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";
import cart from "../services/cart.ts";
import { ownCpuMicros, processCpuMicros } from "./child-process.ts";

const calls = Number(process.env.BENCH_ACTOR_CALLS ?? 4000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const width = Number(process.env.BENCH_ACTOR_IN_FLIGHT ?? 128);
const runtime = process.versions.bun === undefined ? `node ${process.versions.node}` : `bun ${process.versions.bun}`;

const handlers = cart.actor.handlers;
const inMemory = defineActor(Cart, { name: "cart-mem", key: "cart_id", initialState: cart.actor.initialState, durable: false }, handlers as never);
// The plain service path: the same handlers, state in a Map of this one instance.
const states = new Map<string, unknown>();
const plainContext = (key: string): ActorContext => ({ key, endpoint: "", nodeId: "", sequence: 0, metadata: {}, setTimer() {}, clearTimer() {}, remind() {}, forget() {}, client: () => {
  throw new Error("not in the benchmark");
} });
const plainImpl = Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, async (request: { cartId: string }) => {
  const state = states.get(request.cartId) ?? cart.actor.initialState(request.cartId);
  const result = await handler(state, request as never, plainContext(request.cartId));
  if (result.state !== undefined) states.set(request.cartId, result.state);
  return result.reply;
}]));
const plain = defineService(Cart, { name: "cart-plain" }, plainImpl as never);

const nats = await startNatsServer();
try {
  const serverNc = await connectNats({ servers: nats.url });
  const serverTransport = new NatsTransport(serverNc);
  const clientNc = await connectNats({ servers: nats.url });
  const clientTransport = new NatsTransport(clientNc);
  const options = { connection: serverNc, transport: serverTransport };
  const instances = [await startService(plain, options), await startActor(cart, options), await startActor(inMemory, options)];
  const systems = {
    "plain service": createClient(Cart, clientTransport, { service: "cart-plain", timeoutMs: 30_000 }),
    "actor, durable mailbox": createClient(Cart, clientTransport, { service: "cart", timeoutMs: 30_000 }),
    "actor, in-memory mailbox": createClient(Cart, clientTransport, { service: "cart-mem", timeoutMs: 30_000 }),
  };
  // Placement takes its first beat at start; give the in-memory actor's owner a moment.
  await new Promise((resolve) => setTimeout(resolve, 500));

  const results: Record<string, number[]> = {};
  // CPU per call, of this process (client, router, owner) and of nats-server: the machine is
  // shared and noisy, and CPU per call is what a change moves even when calls/s do not show it.
  const cpu: Record<string, { own: number[]; server: number[] }> = {};
  const timed = async (name: string, call: (i: number) => Promise<unknown>) => {
    const own = ownCpuMicros();
    const server = processCpuMicros(nats.pid);
    (results[name] ??= []).push(await rate(calls, call));
    const spent = (cpu[name] ??= { own: [], server: [] });
    spent.own.push((ownCpuMicros() - own) / calls);
    const serverNow = processCpuMicros(nats.pid);
    if (server !== undefined && serverNow !== undefined) spent.server.push((serverNow - server) / calls);
  };
  for (let round = 0; round < rounds; round++) {
    for (const [name, client] of Object.entries(systems)) {
      await timed(`${name}, 1000 keys`, (i) => client.addItem({ cartId: `k${round}-${i % 1000}`, sku: `s${i % 7}`, quantity: 1 }));
      await timed(`${name}, one hot key`, (i) => client.addItem({ cartId: `hot${round}`, sku: `s${i % 7}`, quantity: 1 }));
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n## actors on ${runtime} (nats-server file storage, ${width} calls in flight, ${rounds} rounds, median)\n`);
  console.log("| measurement | calls/s | vs plain service | CPU µs/call (this process) | CPU µs/call (nats-server) |\n|---|---:|---:|---:|---:|");
  for (const [name, rates] of Object.entries(results)) {
    const workload = name.slice(name.indexOf(", ", name.indexOf("mailbox") > 0 ? name.indexOf("mailbox") : 0) + 2);
    const base = results[`plain service, ${workload}`]!;
    const spent = cpu[name]!;
    const server = spent.server.length > 0 ? Math.round(median(spent.server)).toString() : "n/a";
    console.log(`| ${name} | ${Math.round(median(rates)).toLocaleString("en")} | ${(median(rates) / median(base)).toFixed(2)}x | ${Math.round(median(spent.own))} | ${server} |`);
  }
  for (const instance of instances) await instance.stop();
  await Promise.all([serverTransport.close(), clientTransport.close()]);
  await Promise.all([serverNc.close(), clientNc.close()]);
} finally {
  await nats.stop();
}

async function rate(n: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const began = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await call(next++);
  }));
  return (n / (performance.now() - began)) * 1000;
}
