/**
 * The CPU of one OTLP export POST, alone: a 1 MB body (a batch of 4096 spans is about that)
 * posted again and again to a discarding sink in another process, one request at a time, as
 * the span export does. Prints CPU µs per POST of this process (all threads), of its main
 * thread, of the sink, and per thread (Bun's `HTTP Client`, mimalloc's `mi-scavenger`...),
 * per way of posting: `poster` (what `httpPoster()` gives this runtime), `fetch`, `node-http`
 * (`node:http` with a keep-alive agent), each with the body a view of a bigger buffer (`view`,
 * as `ProtobufSpanBatch.take` makes it) or a buffer of its own (`own`).
 *
 * Back-to-back POSTs flatter `fetch` on Bun: it copies each body into memory of its own, which
 * stays mapped when the next POST comes at once; at the benchmark's pace (a POST every ~100 ms
 * per process) the allocator has returned it and every copy faults it in again. `POST_GAP_MS`
 * (0) waits that long between POSTs to see that. `POST_SETUPS` picks setups (comma-separated),
 * `POST_BYTES` the body size (1 MB), `POST_COUNT` the POSTs per run (200), `POST_ROUNDS` the
 * turns (5), `POST_HEAP_MB` a heap of live small objects to keep (0), `POST_SINK=bun` runs the
 * sink on Bun instead of Node. Thread CPU is read from /proc in 10 ms ticks: use enough POSTs.
 * `bun bench/otlp-post-cost.ts`, `node --import tsx bench/otlp-post-cost.ts`.
 * @module
 */
import { spawn } from "node:child_process";
import { httpPoster } from "../runtime/platform/http-post.ts";
import { processCpuMicros, threadStats } from "./child-process.ts";

const bytes = Number(process.env.POST_BYTES) || 1_000_000;
const count = Number(process.env.POST_COUNT) || 200;
const rounds = Number(process.env.POST_ROUNDS) || 5;
const heapMb = Number(process.env.POST_HEAP_MB) || 0;
const gapMs = Number(process.env.POST_GAP_MS) || 0;

const sinkRuntime = process.env.POST_SINK === "bun" ? process.execPath.includes("bun") ? process.execPath : "node_modules/.bin/bun" : "node";
const sink = spawn(sinkRuntime, ["-e", `
  const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => r.writeHead(200).end()); });
  s.listen(0, "127.0.0.1", () => console.log(s.address().port));
  setInterval(() => { if (process.ppid === 1) process.exit(0); }, 500);
`], { stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<string>((resolve) => sink.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim())));
const url = `http://127.0.0.1:${port}/v1/traces`;
const headers = { "content-type": "application/x-protobuf" };

// A live heap, as a busy process has one.
const heap: unknown[] = [];
for (let i = 0; i < heapMb * 10_000; i++) heap.push({ i, s: `x${i}`, a: [i, i + 1] });

const big = new Uint8Array(bytes + 64 * 1024);
for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
const bodies = { view: big.subarray(100, 100 + bytes), own: big.slice(100, 100 + bytes) };

type Post = (body: Uint8Array) => Promise<number>;
const poster = await httpPoster();
const http = await import("node:http");
const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
const nodeHttp: Post = (body) =>
  new Promise((resolve, reject) => {
    const request = http.request(url, { method: "POST", agent, headers: { ...headers, "content-length": String(body.length) } }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    request.end(body);
  });
const fetchPost: Post = async (body) => {
  const response = await fetch(url, { method: "POST", headers, body: body as BodyInit, signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
};
const posts: Record<string, Post> = { poster: (b) => poster(url, headers, b, 10_000), fetch: fetchPost, "node-http": nodeHttp };
const all = Object.keys(posts).flatMap((p) => [`${p}/view`, `${p}/own`]);
const setups = (process.env.POST_SETUPS ?? all.join(",")).split(",").map((s) => s.trim());
for (const s of setups) if (!all.includes(s)) throw new Error(`POST_SETUPS: unknown "${s}" (known: ${all.join(", ")})`);

const mainCpu = () => threadStats(process.pid)?.find((t) => t.tid === String(process.pid))?.cpuMicros ?? 0;
const ownCpu = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
const threadCpu = () => new Map((threadStats(process.pid) ?? []).map((t) => [`${t.name}`, t.cpuMicros] as const));
const threadsBy = new Map<string, Map<string, number>>();
const results = new Map<string, { all: number[]; main: number[]; sink: number[] }>();
for (let round = 0; round <= rounds; round++) {
  for (const setup of setups) {
    const [way, kind] = setup.split("/") as [string, "view" | "own"];
    const post = posts[way]!;
    const body = bodies[kind];
    const t0 = threadCpu();
    const c0 = ownCpu(), m0 = mainCpu(), s0 = processCpuMicros(sink.pid!) ?? 0;
    for (let i = 0; i < count; i++) {
      if ((await post(body)) !== 200) throw new Error("not 200");
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    const t1 = threadCpu();
    const c1 = ownCpu(), m1 = mainCpu(), s1 = processCpuMicros(sink.pid!) ?? 0;
    if (round === 0) continue; // warm-up
    const r = results.get(setup) ?? { all: [], main: [], sink: [] };
    const by = threadsBy.get(setup) ?? new Map<string, number>();
    for (const [name, cpu] of t1) by.set(name, (by.get(name) ?? 0) + (cpu - (t0.get(name) ?? 0)) / count / rounds);
    threadsBy.set(setup, by);
    r.sink.push((s1 - s0) / count);
    r.all.push((c1 - c0) / count);
    r.main.push((m1 - m0) / count);
    results.set(setup, r);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`${typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`}: CPU µs per POST of ${bytes} bytes (median of ${rounds} x ${count}; heap ${heapMb} MB; sink on ${sinkRuntime})`);
for (const [setup, r] of results) console.log(`${setup.padEnd(16)} process ${median(r.all).toFixed(0).padStart(6)}  main thread ${median(r.main).toFixed(0).padStart(6)}  sink ${median(r.sink).toFixed(0).padStart(6)}  (min ${Math.min(...r.all).toFixed(0)})  threads: ${[...threadsBy.get(setup)!].filter(([, v]) => v >= 5).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
sink.kill();
void heap.length;
