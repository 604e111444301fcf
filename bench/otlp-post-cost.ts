/**
 * The CPU of one OTLP export POST, alone: a 1 MB body (a batch of 4096 spans is about that)
 * posted again and again to a discarding sink in another process, one request at a time, as
 * the span export does. Prints CPU µs per POST of this process (all threads) and of its main
 * thread, per way of posting: `poster` (what `httpPoster()` gives this runtime), `fetch`,
 * `node-http` (`node:http` with a keep-alive agent) — each with the body a view of a bigger
 * buffer (`view`, as `ProtobufSpanBatch.take` makes it) or a buffer of its own (`own`).
 * `POST_SETUPS` picks setups (comma-separated), `POST_BYTES` the body size (1 MB),
 * `POST_COUNT` the POSTs per run (200), `POST_ROUNDS` the turns (5), `POST_HEAP_MB` a heap of
 * live small objects to keep (0; a real process has one, and the garbage collector walks it).
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
// A kept-alive socket and a hand-built HTTP/1.1 request: the least a POST can cost.
const net = await import("node:net");
let socket: import("node:net").Socket | undefined;
let answer: ((status: number) => void) | undefined;
let pending = "";
const rawPost: Post = (body) =>
  new Promise((resolve) => {
    if (socket === undefined) {
      socket = net.connect(Number(port), "127.0.0.1");
      socket.setNoDelay(true);
      socket.on("data", (chunk: Buffer) => {
        pending += chunk.toString("latin1");
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const chunked = /transfer-encoding: *chunked/i.test(pending.slice(0, end));
        const last = pending.indexOf("0\r\n\r\n", end + 4);
        if (chunked && last < 0) return;
        const length = chunked ? last + 5 - end - 4 : Number(/content-length: *(\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const status = Number(pending.slice(9, 12));
        pending = pending.slice(end + 4 + length);
        answer?.(status);
      });
    }
    answer = resolve;
    socket.write(`POST /v1/traces HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/x-protobuf\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1");
    socket.write(body);
  });
const posts: Record<string, Post> = { poster: (b) => poster(url, headers, b, 10_000), fetch: fetchPost, "node-http": nodeHttp, net: rawPost };
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
/**
 * Under load (`POST_LOAD=<units>`): the main thread does work units (allocating short-lived
 * objects and touching a few MB, as a busy service does) and starts a POST every 100 units
 * (one at a time, not awaited, as the span export does); CPU per unit with POSTs minus without
 * is what a POST costs a busy process: the copy into fresh memory, the garbage collector it
 * wakes and the caches it cools included.
 */
const loadUnits = Number(process.env.POST_LOAD) || 0;
const every = Number(process.env.POST_EVERY) || 100;
if (loadUnits > 0) {
  const scratch = new Float64Array(512 * 1024);
  let sinkValue = 0;
  const unit = () => {
    const objects: Array<{ a: number; b: string }> = [];
    for (let i = 0; i < 2000; i++) objects.push({ a: i, b: `k${i & 63}` });
    for (let i = 0; i < 4000; i++) sinkValue += scratch[(i * 2654435761) % scratch.length]! + objects[i % 2000]!.a;
  };
  const loaded = async (post: Post | undefined, body: Uint8Array) => {
    let inFlight = false;
    const c0 = ownCpu();
    for (let u = 0; u < loadUnits; u++) {
      unit();
      if (post && u % every === 0 && !inFlight) {
        inFlight = true;
        void post(body).then(() => (inFlight = false));
      }
      if (u % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    while (inFlight) await new Promise((r) => setTimeout(r, 1));
    return (ownCpu() - c0) / loadUnits;
  };
  const per = new Map<string, number[]>();
  for (let round = 0; round <= rounds; round++) {
    for (const setup of ["none", ...setups]) {
      const [way, kind] = setup.split("/") as [string, "view" | "own"];
      const us = await loaded(setup === "none" ? undefined : posts[way], bodies[kind ?? "view"]);
      if (round > 0) per.set(setup, [...(per.get(setup) ?? []), us]);
    }
  }
  const posts_ = loadUnits / every;
  const base = [...per.get("none")!].sort((a, b) => a - b)[rounds >> 1]!;
  console.log(`under load: ${loadUnits} units, a POST every ${every}; CPU µs per unit (median of ${rounds}) and the extra per POST over none`);
  for (const [setup, xs] of per) {
    const m = [...xs].sort((a, b) => a - b)[rounds >> 1]!;
    console.log(`${setup.padEnd(16)} ${m.toFixed(1).padStart(7)} µs/unit  ${(((m - base) * loadUnits) / posts_).toFixed(0).padStart(6)} µs/POST  runs ${xs.map((x) => x.toFixed(1)).join(" ")}`);
  }
  sink.kill();
  process.exit(0);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`${typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.version}`}: CPU µs per POST of ${bytes} bytes (median of ${rounds} x ${count}; heap ${heapMb} MB; sink on ${sinkRuntime})`);
for (const [setup, r] of results) console.log(`${setup.padEnd(16)} process ${median(r.all).toFixed(0).padStart(6)}  main thread ${median(r.main).toFixed(0).padStart(6)}  sink ${median(r.sink).toFixed(0).padStart(6)}  (min ${Math.min(...r.all).toFixed(0)})  threads: ${[...threadsBy.get(setup)!].filter(([, v]) => v >= 5).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ")}`);
sink.kill();
void heap.length;
