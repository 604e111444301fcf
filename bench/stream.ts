/**
 * `npm run bench` (third part): streaming RPC throughput against raw NATS publish/subscribe in
 * the same run, on the runtime that runs this file (Bun by default). One process holds the
 * service and the client on separate connections, as the raw publisher and subscriber are.
 * Prints messages/s, MB/s, CPU µs per message (this process: both ends) and the ratios.
 * First one stream of BENCH_STREAM_LONG (1000000) messages and one of 1 GiB, with the process's RSS.
 * Settings: BENCH_STREAM_MESSAGES (200000 small messages per measurement), BENCH_STREAM_WINDOWS
 * (the client's windows besides the default: 128; `128/1073741824` adds a byte window), BENCH_STREAM_WINDOW_BYTES (byte windows
 * besides the default to try at the default message window, e.g. 4194304), BENCH_ROUNDS (3).
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Counter } from "../gen/counter/v1/counter_pb.ts";
import { createClient, NatsTransport, startService } from "../runtime/mod.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { defaultWindow, defaultWindowBytes } from "../runtime/stream/protocol.ts";
import counter from "../services/counter.ts";

const smallCount = Number(process.env.BENCH_STREAM_MESSAGES ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const runtime = process.versions.bun === undefined ? `node ${process.versions.node}` : `bun ${process.versions.bun}`;
/** Small messages, and large ones (64 KiB: 1 GiB is 16384 of them). */
const shapes = [
  { name: "100 B", bytes: 100, count: smallCount },
  { name: "64 KiB", bytes: 64 * 1024, count: Math.max(100, Math.round(smallCount / 100)) },
];

/** The client's stream settings measured: the defaults first (the goal is stated for them). */
const windows: Array<{ name: string; options: { window?: number; windowBytes?: number } }> = [
  { name: `default window (${defaultWindow} messages, ${defaultWindowBytes / 1024} KiB)`, options: {} },
  // `128` is a message window; `128/1073741824` one with a byte window (2^30: messages only, as before byte windows).
  ...(process.env.BENCH_STREAM_WINDOWS ?? "128").split(",").filter(Boolean).map((w) => {
    const [window, bytes] = w.split("/").map(Number);
    return { name: bytes === undefined ? `window ${window}` : `window ${window}, ${bytes / 1024} KiB`, options: { window, ...(bytes === undefined ? {} : { windowBytes: bytes }) } };
  }),
  ...(process.env.BENCH_STREAM_WINDOW_BYTES ?? "").split(",").filter(Boolean).map((b) => ({ name: `default window, ${Number(b) / 1024} KiB`, options: { windowBytes: Number(b) } })),
];

/** CPU (user + system, µs) this process spent in the last {@link timed} run. */
let lastCpuMicros = 0;

const nats = await startNatsServer();
try {
  const serverConn = await connect({ servers: nats.url, noAsyncTraces: true });
  const clientConn = await connect({ servers: nats.url, noAsyncTraces: true });
  const transport = new NatsTransport(clientConn);
  const instance = await startService(counter, { connection: serverConn, transport: new NatsTransport(serverConn) });
  const client = createClient(Counter, transport);

  const results: Record<string, { rate: number[]; mb: number[]; cpu: number[] }> = {};
  const record = (name: string, messages: number, bytes: number, ms: number) => {
    const entry = (results[name] ??= { rate: [], mb: [], cpu: [] });
    entry.rate.push((messages / ms) * 1000);
    entry.mb.push((messages * bytes) / 1e6 / (ms / 1000));
    // CPU of this process (both ends) for the measurement `timed` just ran: comparable under load.
    entry.cpu.push(lastCpuMicros / messages);
  };
  // One long stream first, on a fresh process: memory must stay flat however many messages pass.
  for await (const _ of client.count({ to: 20_000, payloadBytes: 100 })) void _; // warm-up
  const long = Number(process.env.BENCH_STREAM_LONG ?? 1_000_000);
  const rssBefore = process.memoryUsage().rss;
  let peakRss = rssBefore;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const longMs = await timed(async () => {
    let seen = 0;
    for await (const _ of client.count({ to: long, payloadBytes: 100 })) seen++;
    if (seen !== long) throw new Error(`stream delivered ${seen} of ${long}`);
  });
  const rssAfterLong = peakRss;
  // And 1 GiB through one stream in 64 KiB messages.
  const gib = 16_384;
  const gibMs = await timed(async () => {
    let seen = 0;
    for await (const _ of client.count({ to: gib, payloadBytes: 64 * 1024 })) seen++;
    if (seen !== gib) throw new Error(`stream delivered ${seen} of ${gib}`);
  });
  clearInterval(sampler);

  for (let round = 0; round < rounds; round++) {
    for (const shape of shapes) {
      // The stream's payload is a bytes field: its message is 4-5 bytes bigger than the raw one.
      const rawSize = shape.bytes + (shape.bytes < 128 ? 3 : 5);
      record(`raw pub/sub, ${shape.name}`, shape.count, shape.bytes, await timed(() => rawPubSub(serverConn, clientConn, shape.count, rawSize)));
      for (const window of windows) {
        record(`jetmicro server stream (${window.name}), ${shape.name}`, shape.count, shape.bytes, await timed(async () => {
          let seen = 0;
          for await (const _ of client.count({ to: shape.count, payloadBytes: shape.bytes }, window.options)) seen++;
          if (seen !== shape.count) throw new Error(`stream delivered ${seen} of ${shape.count}`);
        }));
      }
    }
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\n## streams on ${runtime} (one process, loopback nats-server; ${rounds} rounds, median)\n`);
  console.log("| measurement | messages/s | MB/s | CPU µs/message (both ends) |\n|---|---:|---:|---:|");
  for (const [name, r] of Object.entries(results)) {
    console.log(`| ${name} | ${Math.round(median(r.rate)).toLocaleString("en")} | ${median(r.mb).toFixed(1)} | ${median(r.cpu).toFixed(2)} |`);
  }
  console.log();
  for (const shape of shapes) {
    for (const window of windows) {
      const ratio = median(results[`jetmicro server stream (${window.name}), ${shape.name}`]!.rate) / median(results[`raw pub/sub, ${shape.name}`]!.rate);
      const cpuRatio = median(results[`jetmicro server stream (${window.name}), ${shape.name}`]!.cpu) / median(results[`raw pub/sub, ${shape.name}`]!.cpu);
      console.log(`${shape.name}, ${window.name}: jetmicro/raw ${ratio.toFixed(2)}x messages/s${shape.bytes === 100 ? " (goal >= 0.5x)" : ""}, ${cpuRatio.toFixed(2)}x CPU per message`);
    }
  }
  console.log(`\none stream of ${long.toLocaleString("en")} messages of 100 B (default window): ${Math.round((long / longMs) * 1000).toLocaleString("en")} messages/s, RSS ${(rssBefore / 1e6).toFixed(0)} MB at the start, ${(rssAfterLong / 1e6).toFixed(0)} MB at the peak (service and client in this process)`);
  console.log(`one stream of 1 GiB in 64 KiB messages (default window): ${((gib * 64 * 1024) / 1e6 / (gibMs / 1000)).toFixed(1)} MB/s, RSS peak ${(peakRss / 1e6).toFixed(0)} MB`);
  await instance.stop();
  await transport.close();
  await Promise.all([serverConn.close(), clientConn.close()]);
} finally {
  await nats.stop();
}

async function timed(run: () => Promise<void>): Promise<number> {
  const cpu = process.cpuUsage();
  const began = performance.now();
  await run();
  const elapsed = performance.now() - began;
  const used = process.cpuUsage(cpu);
  lastCpuMicros = used.user + used.system;
  return elapsed;
}

/**
 * Raw core NATS at full speed: the publisher flushes every 1000 messages (so it cannot run
 * unboundedly ahead of the subscriber, which NATS would cut off as a slow consumer) and the
 * subscriber counts until it has them all.
 */
async function rawPubSub(pub: NatsConnection, sub: NatsConnection, count: number, size: number): Promise<void> {
  const payload = new Uint8Array(size);
  let received = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => (done = resolve));
  const subject = `bench.raw.${Math.random().toString(36).slice(2)}`;
  const subscription = sub.subscribe(subject, { callback: () => void (++received === count && done()) });
  await sub.flush();
  const batch = size > 1024 ? 16 : 1000;
  for (let i = 0; i < count; i++) {
    pub.publish(subject, payload);
    if (i % batch === batch - 1) await pub.flush();
  }
  await all;
  subscription.unsubscribe();
}
