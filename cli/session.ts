/**
 * One command's connection to NATS and what it opens on it (registry, broker, routing rules),
 * all closed when the command ends; and how a command's failure becomes a message and an exit code.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { Effect, Option } from "effect";
import { createJetStreamBroker, type JetStreamBroker } from "../runtime/broker/nats-jetstream.ts";
import { createDiscovery, type Discovery } from "../runtime/client/discovery.ts";
import { NatsTransport } from "../runtime/client/nats-transport.ts";
import { MicroError } from "../runtime/errors/micro-error.ts";
import { connectNats } from "../runtime/nats/connection.ts";
import { createNatsRegistry } from "../runtime/registry/nats-kv.ts";
import type { Registry } from "../runtime/registry/types.ts";
import { createRoutingRules, type RoutingRules } from "../runtime/selector/routing-rules.ts";
import { paint, printError, progress } from "./output.ts";
import { type CliSettings, type ConnectionFlags, resolveSettings } from "./settings.ts";

/** Exit codes: 0 ok; 1 the operation failed (a call's error); 2 bad input; 3 NATS unreachable. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** A NATS connection for one command, with lazily opened helpers. */
export interface CliSession {
  readonly settings: CliSettings;
  readonly nc: NatsConnection;
  readonly transport: NatsTransport;
  registry(): Promise<Registry>;
  broker(): Promise<JetStreamBroker>;
  rules(): Promise<RoutingRules>;
  /** Registry-backed routing (version weights included) for calls. */
  discovery(): Promise<Discovery>;
}

const remoteErrors = new WeakSet<object>();

/** Marks failures of `work` as the remote side's answer (exit 1), even `invalid_argument` from a handler. */
export async function remote<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const e = MicroError.from(error);
    remoteErrors.add(e);
    throw e;
  }
}

/** Raised when NATS cannot be reached, so the exit code can say so. */
class Unreachable extends MicroError {}

/** Connects (bounded by `connectTimeoutMs`), runs `use`, and closes everything it opened. */
export async function withSession<T>(flags: ConnectionFlags, use: (session: CliSession) => Promise<T>): Promise<T> {
  const settings = resolveSettings(flags);
  const waiting = progress();
  // Only a slow connection gets a progress line: a fast one would just flicker.
  const slow = setTimeout(() => waiting.update(`connecting to NATS at ${settings.natsUrl} (giving up after ${settings.connectTimeoutMs / 1000}s) ...`), 250);
  let nc: NatsConnection;
  try {
    nc = await connectNats({ servers: settings.natsUrl, name: "jetmicro-cli", timeoutMs: settings.connectTimeoutMs });
  } catch (error) {
    throw new Unreachable("unavailable", `${MicroError.from(error).message} (start one with "micro run", or set --nats-url / NATS_URL)`);
  } finally {
    clearTimeout(slow);
    waiting.done();
  }
  const transport = new NatsTransport(nc);
  const closers: Array<() => Promise<void>> = [];
  const once = <V>(open: () => Promise<V>, close: (v: V) => Promise<void>) => {
    let opened: Promise<V> | undefined;
    return () => (opened ??= open().then((v) => (closers.push(() => close(v)), v)));
  };
  const registry = once(() => createNatsRegistry(nc, { ttlMs: settings.registryTtlMs }), (r) => r.close());
  const rules = once(() => createRoutingRules(nc), (r) => r.close());
  const session: CliSession = {
    settings,
    nc,
    transport,
    registry,
    rules,
    broker: once(() => createJetStreamBroker(nc, { namespace: settings.namespace }), async () => {}),
    discovery: once(async () => createDiscovery({ registry: await registry(), rules: await rules() }), (d) => d.close()),
  };
  try {
    return await use(session);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await transport.close().catch(() => undefined);
    await nc.drain().catch(() => nc.close());
  }
}

/** Prints an error as `error <code>: <message>` (and its detail) on stderr; returns the exit code it means. */
export function reportError(command: string, error: unknown): number {
  const e = MicroError.from(error);
  const detail = e.detail !== undefined && e.detail !== "" ? paint.dim(` (detail: ${e.detail})`) : "";
  printError(`${paint.red(`micro ${command}: error ${e.code}`)}: ${e.message}${detail}`);
  if (error instanceof Unreachable) return exitCodes.unreachable;
  return e.code === "invalid_argument" && !remoteErrors.has(e) ? exitCodes.usage : exitCodes.failed;
}

/**
 * A command's handler as an Effect for the parser: a plain async function whose result is
 * the exit code; anything it throws is reported by {@link reportError}.
 */
export const action = (command: string, run: () => Promise<number | void>) =>
  Effect.promise(async () => {
    try {
      process.exitCode = (await run()) ?? exitCodes.ok;
    } catch (error) {
      process.exitCode = reportError(command, error);
    }
  });

/** The value of an optional flag, or undefined. */
export const opt = <A>(value: Option.Option<A>): A | undefined => Option.getOrUndefined(value);

/** Parses a JSON argument, naming the argument when it is not JSON. */
export function parseJsonArgument(what: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} is not valid JSON: ${(error as Error).message} (quote it: '{"name":"Ada"}')`, { detail: what });
  }
}
