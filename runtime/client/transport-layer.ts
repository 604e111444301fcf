/**
 * The client transport as an Effect service, built on the {@link Nats} connection.
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { Nats } from "../nats/connection.ts";
import { NatsTransport } from "./nats-transport.ts";
import type { Transport } from "./transport.ts";

/** The request-reply transport shared by every client and handler of a process. */
export class ClientTransport extends Context.Service<ClientTransport, Transport>()("jetmicro/ClientTransport") {}

/** A NATS transport on the process connection, closed when the scope closes. */
export const layerNatsTransport: Layer.Layer<ClientTransport, never, Nats> = Layer.effect(
  ClientTransport,
  Effect.gen(function* () {
    const nc = yield* Nats;
    return yield* Effect.acquireRelease(
      Effect.sync(() => new NatsTransport(nc)),
      (transport) => Effect.promise(() => transport.close()),
    );
  }),
);
