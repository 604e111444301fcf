/**
 * The greeter round trip as a standalone script, so one file proves the same code works on
 * Bun, Deno and Node: it serves `services/greeter.ts` with {@link startService}, calls it
 * with the typed client and with raw JSON as any NATS client would, checks that the method
 * the module leaves out answers `unimplemented`, stops everything and lets the process end by
 * itself (a handle left open is a failure too).
 *
 * It prints one JSON line, a {@link RoundTripResult}, and exits 0 only when every check
 * passed. `tests/runtime/cross-runtime.test.ts` runs it under all three runtimes.
 *
 * ```sh
 * bun tests/support/roundtrip.ts nats://127.0.0.1:4222
 * node_modules/.bin/deno run -A tests/support/roundtrip.ts nats://127.0.0.1:4222
 * node_modules/.bin/tsx tests/support/roundtrip.ts nats://127.0.0.1:4222
 * ```
 *
 * The URL comes from the first argument, else `NATS_URL`. `MICRO_NAMESPACE` (default `micro`)
 * lets several copies share one server without answering each other's calls.
 * @module
 */
import process from "node:process";
// node:timers rather than the globals: Deno's global setTimeout returns a number, with no unref().
import { setTimeout } from "node:timers";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { connectNats, createClient, MicroError, NatsTransport, startService } from "../../runtime/mod.ts";
import greeter from "../../services/greeter.ts";

/** The line the script prints. */
export type RoundTripResult =
  | {
    readonly ok: true;
    /** `bun`, `deno` or `node`. */
    readonly runtime: string;
    readonly version: string;
    /** Node id of the instance this process served. */
    readonly nodeId: string;
    /** `message` of the typed `sayHello({ name: "Ada" })` reply. */
    readonly typed: string;
    /** The parsed reply to the raw JSON request. */
    readonly raw: unknown;
    /** Code and answering instance of the `sayGoodbye` rejection. */
    readonly unimplemented: { readonly code: string; readonly serviceId: string | undefined };
    /** Wall time from connecting to closing. */
    readonly ms: number;
  }
  | {
    readonly ok: false;
    readonly runtime: string;
    readonly version: string;
    /** The step that failed, e.g. `typed call`. */
    readonly step: string;
    readonly error: string;
  };

/** Whole run, beyond which the script reports the step it is stuck in. */
const deadlineMs = Number(process.env.ROUNDTRIP_TIMEOUT_MS || 20_000);
/** How long the process may live on after closing before it counts as a leaked handle. */
const exitGraceMs = 3_000;
const callTimeoutMs = 5_000;

const { runtime, version } = currentRuntime();
let step = "start";

const watchdog = setTimeout(() => fail(new Error(`still running after ${deadlineMs} ms`)), deadlineMs);
watchdog.unref();

try {
  const result = await roundTrip();
  clearTimeout(watchdog);
  console.log(JSON.stringify(result));
  process.exitCode = 0;
  // Unref'd, so it only fires when something else still keeps the process alive.
  setTimeout(() => {
    console.error(`roundtrip: still running ${exitGraceMs} ms after closing everything; a handle was left open`);
    process.exit(1);
  }, exitGraceMs).unref();
} catch (error) {
  fail(error);
}

async function roundTrip(): Promise<RoundTripResult> {
  const began = Date.now();
  const url = process.argv[2] ?? process.env.NATS_URL;
  if (!url) throw new Error("no NATS URL: pass one as the first argument or set NATS_URL");
  const namespace = process.env.MICRO_NAMESPACE || "micro";

  step = "connect";
  const nc = await connectNats({ servers: url, name: `roundtrip-${runtime}` });
  const transport = new NatsTransport(nc);

  step = "start service";
  const instance = await startService(greeter, { connection: nc, transport, namespace });

  step = "typed call";
  const client = createClient(Greeter, transport, { namespace, timeoutMs: callTimeoutMs });
  const typed = (await client.sayHello({ name: "Ada" })).message;
  expectEqual("typed reply", typed, "Hello Ada");

  step = "raw JSON request";
  const reply = await nc.request(`${namespace}.srv.greeter.Greeter.SayHello`, '{"name":"Ada"}', { timeout: callTimeoutMs });
  const raw: unknown = reply.json();
  expectEqual("raw reply", JSON.stringify(raw), JSON.stringify({ message: "Hello Ada" }));

  step = "unimplemented method";
  const error = await client.sayGoodbye({ name: "Ada" }).then(
    (value) => {
      throw new Error(`sayGoodbye resolved with ${JSON.stringify(value)}; expected it to reject`);
    },
    (reason: unknown) => reason,
  );
  if (!(error instanceof MicroError)) throw new Error(`sayGoodbye rejected with ${String(error)}, not a MicroError`);
  expectEqual("sayGoodbye error code", error.code, "unimplemented");
  expectEqual("sayGoodbye answered by", error.serviceId, instance.nodeId);

  step = "stop service";
  await instance.stop();
  step = "close";
  await transport.close();
  await nc.drain();

  return {
    ok: true,
    runtime,
    version,
    nodeId: instance.nodeId,
    typed,
    raw,
    unimplemented: { code: error.code, serviceId: error.serviceId },
    ms: Date.now() - began,
  };
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Reports the failed step on stdout (the one result line) and stderr, then exits at once. */
function fail(error: unknown): never {
  const message = error instanceof MicroError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
  const result: RoundTripResult = { ok: false, runtime, version, step, error: message };
  console.log(JSON.stringify(result));
  console.error(`roundtrip on ${runtime} ${version} failed at "${step}":`, error);
  process.exit(1);
}

/** Which runtime runs this script; all three fill in `process.versions`, Bun and Deno add their own key. */
function currentRuntime(): { runtime: string; version: string } {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun) return { runtime: "bun", version: versions.bun };
  if (versions.deno) return { runtime: "deno", version: versions.deno };
  return { runtime: "node", version: versions.node ?? "unknown" };
}
