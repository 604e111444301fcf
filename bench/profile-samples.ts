/**
 * Where a CPU profile's time went, by SAMPLE COUNT: each function's self and total samples as
 * a share of all samples, and as µs per call when given the process's CPU µs per call (the
 * benchmark's table prints it). Given a second profile (jetmicro-on after jetmicro-off), prints
 * each function's difference: what the second setup costs more, function by function.
 *
 * Why not the time columns of `--cpu-prof-md` (or `timeDeltas`)? JavaScriptCore samples only
 * while the thread runs JavaScript, so a sample's time delta spans everything since the one
 * before, idle waits included: the first function to run after the event loop woke (a timer,
 * a socket read, the export's `fetch` and `drain`) is charged the whole idle time before it.
 * In one jetmicro-on server profile `fetch` had 50 samples and 164 ms of "self time", and a
 * single lodash sample 437 ms. Counting samples charges each one its 1 ms interval.
 *
 * `bun bench/profile-samples.ts a.cpuprofile [b.cpuprofile] [--us a=14.5,b=23.0] [--top 40] [--match regex]`
 * (`--match` keeps functions whose name or file matches; totals then show where they are called).
 * @module
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

/** Self and total sample counts per function (name, file, line), and the number of samples. */
function count(path: string): { self: Map<string, number>; total: Map<string, number>; samples: number } {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode) =>
    `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*?\/(runtime|node_modules|bench)\//, "$1/") || "[native]"}${n.callFrame.lineNumber >= 0 ? `:${n.callFrame.lineNumber + 1}` : ""}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  for (const id of profile.samples) {
    const leaf = key(byId.get(id)!);
    self.set(leaf, (self.get(leaf) ?? 0) + 1);
    // A recursive function counts once per sample in its total.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = key(byId.get(at)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + 1);
    }
  }
  return { self, total, samples: profile.samples.length };
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  args.splice(at, 2);
  return value;
};
const top = Number(option("--top") ?? 40);
const match = option("--match");
const us = Object.fromEntries((option("--us") ?? "").split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]).map(([k, v]) => [k, Number(v)]));
const [pathA, pathB] = args;
if (pathA === undefined) throw new Error("usage: profile-samples.ts a.cpuprofile [b.cpuprofile] [--us a=14.5,b=23.0] [--top 40] [--match regex]");

const a = count(pathA);
const b = pathB === undefined ? undefined : count(pathB);
/** A share of samples as µs per call when the CPU per call is known, else as a percentage. */
const scaled = (n: number, of: { samples: number }, perCall: number | undefined) => (perCall ? (n / of.samples) * perCall : (n / of.samples) * 100);
const unit = us.a ? "µs/call" : "%";
const filter = match === undefined ? () => true : (k: string) => new RegExp(match).test(k);
const fmt = (x: number) => x.toFixed(3).padStart(8);

console.log(`${pathA}: ${a.samples} samples${b ? `; ${pathB}: ${b.samples} samples` : ""}; in ${unit}`);
for (const column of ["self", "total"] as const) {
  const keys = new Set([...a[column].keys(), ...(b ? b[column].keys() : [])].filter(filter));
  const rows = [...keys].map((k) => {
    const x = scaled(a[column].get(k) ?? 0, a, us.a);
    const y = b ? scaled(b[column].get(k) ?? 0, b, us.b) : 0;
    return { k, x, y, d: b ? y - x : x };
  }).sort((p, q) => q.d - p.d).slice(0, top);
  console.log(`\n## ${column}${b ? " (sorted by b - a)" : ""}`);
  for (const r of rows) console.log(`${fmt(r.x)}${b ? ` ${fmt(r.y)} ${fmt(r.d)}` : ""}  ${r.k}`);
}
