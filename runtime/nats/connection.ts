/**
 * The NATS connection as an Effect service: opened when the layer is built, drained when its
 * scope closes, so every component above it stops before the connection does.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { parseNatsServers } from "../config/nats-servers.ts";

/** Connection settings. */
export interface NatsOptions {
  /**
   * Server URL(s), e.g. `nats://127.0.0.1:4222`, or a cluster's as a list or one string
   * separated by commas (what `NATS_URL` holds): split and checked, so the client knows every
   * server and reconnects across them.
   */
  readonly servers: string | readonly string[];
  /** Client name shown by the server (`nats server report connections`). */
  readonly name?: string;
  /** How long to wait for the first connection, in ms (nats.js default: 20000). */
  readonly timeoutMs?: number;
}

/**
 * Opens a NATS connection tuned for jetmicro: `noAsyncTraces` skips a stack capture per
 * request inside nats.js (JetStream publishes go through it), which is pure overhead here.
 * The first connection tries each listed server in turn (so two of three being down still
 * connects); afterwards the client reconnects forever, across the list and the servers the
 * cluster announces. Throws `invalid_argument` for a bad server list, `unavailable` when no
 * server answers.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const servers = parseNatsServers(options.servers);
  try {
    return await connect({
      servers,
      name: options.name ?? "jetmicro",
      noAsyncTraces: true,
      maxReconnectAttempts: -1,
      // Short waits between attempts: a cluster node that died is replaced by another at once.
      reconnectTimeWait: 250,
      ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    });
  } catch (cause) {
    throw new MicroError("unavailable", `cannot connect to NATS at ${servers.join(",")}: ${(cause as Error).message}`, { cause });
  }
}

/** The shared NATS connection of a process. */
export class Nats extends Context.Service<Nats, NatsConnection>()("jetmicro/Nats") {}

/** A layer that connects on build and drains on release. */
export function layerNats(options: NatsOptions): Layer.Layer<Nats, MicroError> {
  return Layer.effect(
    Nats,
    Effect.acquireRelease(
      Effect.tryPromise({ try: () => connectNats(options), catch: (e) => MicroError.from(e, "unavailable") }),
      (nc) => Effect.promise(() => (nc.isClosed() ? Promise.resolve() : nc.drain().catch(() => nc.close()))),
    ),
  );
}
