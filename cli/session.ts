/**
 * One command's services on NATS (connection, transport, registry, broker, routing rules,
 * discovery) as layers built in the command's scope, so all are released when it ends; and how
 * a command's failure becomes a message and an exit code.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { Context, Effect, Layer, Option } from "effect";
import { EventBroker } from "../runtime/broker/layer.ts";
import type { JetStreamBroker } from "../runtime/broker/nats-jetstream.ts";
import type { Discovery } from "../runtime/client/discovery.ts";
import { ClientTransport } from "../runtime/client/transport-layer.ts";
import type { Transport } from "../runtime/client/transport.ts";
import { natsUrlOf, readSettings, type Settings } from "../runtime/config/mod.ts";
import { MicroError } from "../runtime/errors/micro-error.ts";
import { Nats } from "../runtime/nats/connection.ts";
import { redactNatsUrl } from "../runtime/nats/connect-options.ts";
import { ServiceRegistry } from "../runtime/registry/layer.ts";
import type { Registry } from "../runtime/registry/types.ts";
import type { RoutingRules } from "../runtime/selector/routing-rules.ts";
import { paint, printError, progress } from "./output.ts";
import { CallDiscovery, Routes, sessionLayers } from "./session-layers.ts";
import { commandSources, type ConnectionFlags } from "./settings.ts";

/** Exit codes: 0 ok; 1 the operation failed (a call's error); 2 bad input; 3 NATS unreachable. */
export const exitCodes = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** A NATS connection for one command, with its other services opened on first use. */
export interface CliSession {
  readonly settings: Settings;
  readonly nc: NatsConnection;
  readonly transport: Transport;
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

/**
 * Connects (bounded by `connectTimeoutMs`), runs `use`, and releases everything it opened: the
 * services `use` asked for, the transport, then the connection (drained).
 */
export async function withSession<T>(flags: ConnectionFlags, use: (session: CliSession) => Promise<T>): Promise<T> {
  const settings = readSettings(commandSources(flags));
  const natsUrl = natsUrlOf(settings);
  const layers = sessionLayers(settings, natsUrl);
  const program = Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const memo = yield* Layer.makeMemoMap;
    /** Builds `layer` into the command's scope (once), giving its service. */
    const open = <I, S, E>(layer: Layer.Layer<I, E>, key: Context.Key<I, S>) => {
      let opened: Promise<S> | undefined;
      return () => (opened ??= Effect.runPromise(Layer.buildWithMemoMap(layer, memo, scope).pipe(Effect.map((context) => Context.get(context, key)))));
    };
    const waiting = progress();
    // Only a slow connection gets a progress line: a fast one would just flicker.
    const slow = setTimeout(() => waiting.update(`connecting to NATS at ${redactNatsUrl(natsUrl)} (giving up after ${settings.connectTimeoutMs / 1000}s) ...`), 250);
    const nc = yield* Effect.tryPromise({
      try: () => open(layers.nats, Nats)(),
      catch: (error) => {
        const failure = MicroError.from(error);
        // A setting that cannot be used (a credentials file missing or malformed, a bad URL) is
        // the user's to fix, found before any server was tried: a usage error, not "unreachable".
        if (failure.code === "invalid_argument") return failure;
        // A server that answered and refused our credentials or TLS is there: starting one is not the fix.
        const refused = failure.detail === "credentials" || failure.detail === "tls";
        const hint = refused ? "" : ` (start one with "micro run", or set --nats-url / NATS_URL)`;
        return new Unreachable("unavailable", `${failure.message}${hint}`);
      },
    }).pipe(Effect.ensuring(Effect.sync(() => (clearTimeout(slow), waiting.done()))));
    const session: CliSession = {
      settings,
      nc,
      transport: yield* Effect.promise(open(layers.transport, ClientTransport)),
      registry: open(layers.registry, ServiceRegistry),
      broker: open(layers.broker, EventBroker),
      rules: open(layers.routes, Routes),
      discovery: open(layers.discovery, CallDiscovery),
    };
    return yield* Effect.tryPromise({ try: () => use(session), catch: (error) => error });
  }).pipe(Effect.scoped);
  return Effect.runPromise(program);
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
