/**
 * The NATS connection as an Effect service: opened when the layer is built, drained when its
 * scope closes, so every component above it stops before the connection does.
 * @module
 */
import type { ConnectionOptions, NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { natsConnectOptions, type NatsOptions, redactNatsUrl } from "./connect-options.ts";

export type { NatsOptions } from "./connect-options.ts";

/**
 * Opens a NATS connection tuned for jetmicro (options from {@link natsConnectOptions}:
 * credentials, TLS, and `noAsyncTraces`, which skips a stack capture per request inside
 * nats.js, pure overhead here). A refused login or a failed handshake is `unavailable` with
 * the server's reason, the URL shown without its secrets.
 */
export async function connectNats(options: NatsOptions): Promise<NatsConnection> {
  const connectOptions = natsConnectOptions(options);
  const where = redactNatsUrl(String(connectOptions.servers));
  try {
    return await connect(connectOptions);
  } catch (cause) {
    const { reason, detail } = describeFailure(cause as Error, connectOptions);
    throw new MicroError("unavailable", `cannot connect to NATS at ${where}: ${reason}`, { cause, detail });
  }
}

/**
 * The server's reason in words a user can act on, and `detail` when a server answered but refused
 * us: `credentials` or `tls` (a caller's "start a server" hint would mislead then).
 */
function describeFailure(error: Error, options: ConnectionOptions): { reason: string; detail?: "credentials" | "tls" } {
  const message = error.message;
  if (message === "timeout") {
    const tls = options.tls ? "; a server that verifies clients needs NATS_CERT and NATS_KEY" : "";
    return { reason: `no answer within ${options.timeout ?? 20_000} ms (is the server up and the URL right${tls}?)` };
  }
  if (/authorization violation|authentication/i.test(message)) {
    return { reason: `${message} (check NATS_USER/NATS_PASSWORD, NATS_TOKEN, NATS_NKEY or NATS_CREDS)`, detail: "credentials" };
  }
  if (/certificate|self.signed|tls|ssl/i.test(message)) return { reason: `${message} (check NATS_CA, NATS_CERT and NATS_KEY)`, detail: "tls" };
  return { reason: message };
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
