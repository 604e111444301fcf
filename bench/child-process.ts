/**
 * Process plumbing shared by the benchmark's child processes: CPU time of this process and of
 * others (to charge CPU per call), and exiting when the orchestrator disappears.
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** CPU time (user + system) this process has used, in µs. */
export function ownCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/** Linux reports process times in clock ticks of 1/100 s (`getconf CLK_TCK`). */
const microsPerTick = 10_000;

/** CPU time (user + system) of another process in µs, from /proc; undefined off Linux. */
export function processCpuMicros(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces, so count fields from after its closing parenthesis:
    // field 3 (state) comes first there, utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * microsPerTick;
  } catch {
    return undefined;
  }
}

/** One thread of a process, as /proc shows it. */
export interface ThreadStat {
  readonly tid: string;
  /** The thread's name (`comm`): JavaScriptCore's `JITWorker`, `HeapHelper`..., the process's own for the main thread. */
  readonly name: string;
  /** User + system CPU time, µs. */
  readonly cpuMicros: number;
  readonly minorFaults: number;
}

/** The threads of `pid` from /proc (one that ends while they are read is left out); undefined off Linux. */
export function threadStats(pid: number): ThreadStat[] | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads: ThreadStat[] = [];
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended
    }
    // As in processCpuMicros: fields counted from after the name's closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    threads.push({
      tid,
      name: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")),
      cpuMicros: (Number(fields[11]) + Number(fields[12])) * microsPerTick,
      minorFaults: Number(fields[7]),
    });
  }
  return threads;
}

/**
 * CPU time of another process's JIT compiler threads in µs (JavaScriptCore's `JITWorker`,
 * V8's `V8 Worker`... by thread name), from /proc; undefined off Linux. Compiling is work a
 * process does once its code runs hot, not per request: a benchmark that charges it to the
 * requests of a short run measures start-up.
 */
export function compilerCpuMicros(pid: number): number | undefined {
  return threadStats(pid)?.filter((t) => /^JIT/.test(t.name)).reduce((sum, t) => sum + t.cpuMicros, 0);
}

/**
 * Exits when the parent dies (this process gets re-parented), so a killed orchestrator never
 * leaves a benchmark child spinning. The check does not keep the process alive.
 */
export function exitWithParent(): void {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 500).unref();
}
