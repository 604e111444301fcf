/**
 * Diagnostic, not part of `npm run bench`: what one kind of refused request costs the gateway
 * when it is mixed into normal calls, against the same request sent alone, and where the CPU
 * goes. It found why deep JSON of 200 KB cost ~300 µs of gateway CPU inside the hostile mix
 * but ~150 µs alone (issue 14): on Bun, each refused body held until the next garbage
 * collection made the allocator hand the next one fresh pages (`json-body.ts` `release`).
 *
 * The gateway child is `gateway-hostile.ts serve`, pinned as there (`cpu-sets.ts`). Modes run
 * in short slices taking turns (PROBE_SLICE_MS, 500), PROBE_SECONDS (10) each in all, in the
 * order of PROBE_MODES (`clean,mixed,mixedUnread,mixedSmall`; also `deepAlone`,
 * `unreadAlone`, `control`):
 * - `clean`: normal calls only; `mixed`: every tenth request deep JSON (the mix's four deep
 *   kinds, or PROBE_BODY `deep:<nesting>` to a path route);
 * - `mixedUnread`: the same 200 KB as `text/plain`, refused (415) before the body is read:
 *   what the bytes cost when only the runtime drains them;
 * - `mixedSmall`: deep JSON of 200 bytes: what the refusal costs without the bytes;
 * - `deepAlone`, `unreadAlone`, `notFoundAlone`, `hostileAlone`: only that request (the whole
 *   hostile mix for the last), 32 in flight; `control`: plain 404s mixed in; `hostile`: the
 *   whole hostile mix of `gateway-hostile.ts` mixed in.
 * PROBE_WARMUP_MS (1000) of deep JSON mixed in comes first. For each mode: normal calls per
 * second, how busy the child was (its CPU over the wall time), the child's CPU per request by thread (`main` is the JavaScript thread), per
 * normal call, what a mixed-in request costs beyond a clean run's normal call ("implied"),
 * and minor page faults per request. BENCH_CHILD_FLAGS adds flags to the child's bun (e.g.
 * `--cpu-prof-md --cpu-prof-dir=/tmp/prof`: the child exits on SIGTERM, so it writes the
 * profile); the child's pid is printed, for `perf stat -p`.
 * @module
 */
import { threadStats } from "./child-process.ts";
import { startNatsServer } from "../runtime/nats/mod.ts";
import { startHostileChild } from "./hostile-child.ts";
import { type HostileCase, hostileCases, plainNotFound, runMix } from "../tests/gateway/hostile-mix.ts";
import { pinning } from "./cpu-sets.ts";

const seconds = Number(process.env.PROBE_SECONDS ?? 10);
const sliceMs = Number(process.env.PROBE_SLICE_MS ?? 500);
const picked = (process.env.PROBE_MODES ?? "clean,mixed,mixedUnread,mixedSmall").split(",");

/** Deep JSON, `[` nested `nesting` deep, POSTed to a path route as `contentType`. */
function deepCase(nesting: number, contentType = "application/json"): HostileCase {
  const body = new TextEncoder().encode("[".repeat(nesting) + "]".repeat(nesting));
  return {
    name: `deep ${nesting} as ${contentType}`,
    expected: contentType === "application/json" ? 400 : 415,
    wire: body,
    send: async (base, signal) => {
      const res = await fetch(`${base}/greeter/say-hello`, { method: "POST", headers: { "content-type": contentType }, body, signal });
      await res.arrayBuffer();
      return res.status;
    },
  };
}

const nesting = /^deep:(\d+)$/.exec(process.env.PROBE_BODY ?? "");
const deep = nesting ? [deepCase(Number(nesting[1]))] : hostileCases.filter((c) => c.name.startsWith("deep JSON"));
/** Mode: every how many requests one is the mode's case (0: none, 1: all), in flight, the cases. */
const modes: Record<string, readonly [number, number, readonly HostileCase[]]> = {
  clean: [0, 32, []],
  mixed: [10, 32, deep],
  mixedUnread: [10, 32, [deepCase(100_000, "text/plain")]],
  mixedSmall: [10, 32, [deepCase(100)]],
  deepAlone: [1, 32, deep],
  unreadAlone: [1, 32, [deepCase(100_000, "text/plain")]],
  control: [10, 32, [plainNotFound]],
  notFoundAlone: [1, 32, [plainNotFound]],
  hostile: [10, 32, hostileCases],
  hostileAlone: [1, 32, hostileCases],
};

/** CPU µs of each thread of `pid` (the main thread as `main`, others by name) and its minor page faults. */
function counters(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const thread of threadStats(pid) ?? []) {
    const name = thread.tid === String(pid) ? "main" : thread.name.replace(/[0-9]+$/, "#");
    out.set(name, (out.get(name) ?? 0) + thread.cpuMicros);
    out.set(faults, (out.get(faults) ?? 0) + thread.minorFaults);
  }
  return out;
}
const faults = " page faults";

const pinned = pinning();
const nats = await startNatsServer();
const child = startHostileChild(nats.url, pinned.serverPrefix);
const server = child.process;
try {
  const [port, pid] = await child.ready;
  const base = `http://127.0.0.1:${port}`;
  console.error(`child pid ${pid}; ${pinned.description}`);
  await runMix({ base, inFlight: 32, hostileEvery: 10, cases: deep, durationMs: Number(process.env.PROBE_WARMUP_MS ?? 1000) }); // warm-up
  const sums = new Map<string, { normal: number; other: number; failed: number; ms: number; counters: Map<string, number> }>();
  for (let s = 0; s < Math.round((seconds * 1000) / sliceMs); s++) {
    for (let k = 0; k < picked.length; k++) {
      const name = picked[(k + s) % picked.length]!;
      const [every, inFlight, cases] = modes[name]!;
      const before = counters(pid);
      const r = await runMix({ base, inFlight, hostileEvery: every, cases, durationMs: sliceMs });
      const after = counters(pid);
      const sum = sums.get(name) ?? { normal: 0, other: 0, failed: 0, ms: 0, counters: new Map() };
      sums.set(name, sum);
      sum.normal += r.normalOk;
      sum.ms += r.elapsedMs;
      sum.failed += r.normalFailed.length;
      sum.other += [...r.hostile.values()].reduce((n, l) => n + l.length, 0);
      for (const [key, v] of after) sum.counters.set(key, (sum.counters.get(key) ?? 0) + v - (before.get(key) ?? 0));
    }
  }
  const cpu = (name: string) => [...sums.get(name)!.counters].reduce((n, [k, v]) => (k === faults ? n : n + v), 0);
  const clean = sums.get("clean");
  const cleanPerCall = clean === undefined ? Number.NaN : cpu("clean") / clean.normal;
  for (const name of picked.filter((n, i) => picked.indexOf(n) === i)) {
    const sum = sums.get(name)!;
    const total = sum.normal + sum.other;
    const threads = [...sum.counters].filter(([k, v]) => k !== faults && v > 0).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / total).toFixed(0)}`);
    const implied = sum.normal > 0 && sum.other > 0 ? `, implied µs per other request ${((cpu(name) - sum.normal * cleanPerCall) / sum.other).toFixed(0)}` : "";
    const perNormal = sum.normal > 0 ? `, per normal call ${(cpu(name) / sum.normal).toFixed(0)}` : "";
    console.log(`${name}: ${sum.normal} normal (${sum.failed} failed), ${sum.other} other, ${((sum.normal / sum.ms) * 1000).toFixed(0)} normal/s, gateway busy ${((cpu(name) / (sum.ms * 1000)) * 100).toFixed(0)} %; gateway CPU µs per request ${(cpu(name) / total).toFixed(0)}${perNormal}${implied}; page faults per request ${((sum.counters.get(faults) ?? 0) / total).toFixed(2)}; by thread: ${threads.join(", ")}`);
  }
} finally {
  // Under a profiler (BENCH_CHILD_FLAGS) the child must exit on its own to write its profile.
  server.kill(process.env.BENCH_CHILD_FLAGS ? "SIGTERM" : "SIGKILL");
  await server.exited.catch(() => undefined);
  await nats.stop();
}
