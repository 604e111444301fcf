/**
 * `npm run bench` (second part): event publish and replay through jetmicro's broker against
 * raw JetStream in the same process run, on the runtime that runs this file (Bun by default;
 * `node --import tsx bench/events.ts` for Node). Prints events/s and the ratios.
 * Settings: BENCH_EVENTS (20000 per measurement), BENCH_ROUNDS (3).
 * @module
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { connectNats, createJetStreamBroker } from "../runtime/mod.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";

const count = Number(process.env.BENCH_EVENTS ?? 20_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const payload = new TextEncoder().encode("x".repeat(100));
const runtime = process.versions.bun === undefined ? `node ${process.versions.node}` : `bun ${process.versions.bun}`;

const nats = await startNatsServer();
try {
  const rawDefault = await connect({ servers: nats.url });
  const rawFast = await connect({ servers: nats.url, noAsyncTraces: true });
  const micro = await connectNats({ servers: nats.url });
  const jsm = await jetstreamManager(rawDefault);
  await jsm.streams.add({ name: "RAW_BENCH", subjects: ["raw.bench.>"] });
  const broker = await createJetStreamBroker(micro);

  const systems: Record<string, (i: number) => Promise<unknown>> = {
    "raw js.publish": ((js) => (i: number) => js.publish("raw.bench.evt", payload, { msgID: `r${i}-${Math.random()}` }))(jetstream(rawDefault)),
    "raw js.publish (noAsyncTraces)": ((js) => (i: number) => js.publish("raw.bench.evt", payload, { msgID: `f${i}-${Math.random()}` }))(jetstream(rawFast)),
    "jetmicro publish": (_i: number) => broker.publish("bench.evt", payload, { user: "42" }),
  };

  const results: Record<string, number[]> = {};
  const record = (name: string, rate: number) => (results[name] ??= []).push(rate);
  for (let round = 0; round < rounds; round++) {
    for (const [name, publish] of Object.entries(systems)) {
      record(`${name}, awaited`, await timed(count / 4, async (n) => {
        for (let i = 0; i < n; i++) await publish(i);
      }));
      record(`${name}, 256 in flight`, await timed(count, (n) => inFlight(n, 256, publish)));
    }
    record("raw ordered consumer replay", await timed(count, (n) => rawReplay(rawFast, n)));
    record("jetmicro replay", await timed(count, async (n) => {
      let seen = 0;
      for await (const _ of broker.replay("bench.>")) if (++seen >= n) break;
    }));
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n## events on ${runtime} (nats-server, file storage; ${rounds} rounds, median)\n`);
  console.log("| measurement | events/s |\n|---|---:|");
  for (const [name, rates] of Object.entries(results)) console.log(`| ${name} | ${Math.round(median(rates)).toLocaleString("en")} |`);
  const ratio = (a: string, b: string) => (median(results[a]!) / median(results[b]!)).toFixed(2);
  console.log();
  for (const mode of ["awaited", "256 in flight"]) {
    console.log(`publish ${mode}: jetmicro/raw ${ratio(`jetmicro publish, ${mode}`, `raw js.publish, ${mode}`)}x, jetmicro/raw noAsyncTraces ${ratio(`jetmicro publish, ${mode}`, `raw js.publish (noAsyncTraces), ${mode}`)}x`);
  }
  console.log(`replay: jetmicro/raw ordered consumer ${ratio("jetmicro replay", "raw ordered consumer replay")}x`);
  await Promise.all([rawDefault.close(), rawFast.close(), micro.close()]);
} finally {
  await nats.stop();
}

async function timed(n: number, run: (n: number) => Promise<void>): Promise<number> {
  const began = performance.now();
  await run(n);
  return (n / (performance.now() - began)) * 1000;
}

async function inFlight(n: number, width: number, publish: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await publish(next++);
  }));
}

async function rawReplay(nc: NatsConnection, n: number): Promise<void> {
  const consumer = await jetstream(nc).consumers.get("RAW_BENCH", { filter_subjects: "raw.bench.>" });
  const messages = await consumer.consume();
  let seen = 0;
  for await (const _ of messages) if (++seen >= n) break;
  messages.stop();
}
