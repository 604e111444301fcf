/**
 * The event broker as an Effect service on the process connection.
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { Nats } from "../nats/connection.ts";
import { createJetStreamBroker, type JetStreamBroker, type JetStreamBrokerOptions } from "./nats-jetstream.ts";

/** The event broker of a process. */
export class EventBroker extends Context.Service<EventBroker, JetStreamBroker>()("jetmicro/EventBroker") {}

/** A JetStream broker; creates or updates its streams when built. */
export function layerJetStreamBroker(options: JetStreamBrokerOptions = {}): Layer.Layer<EventBroker, MicroError, Nats> {
  return Layer.effect(
    EventBroker,
    Effect.gen(function* () {
      const nc = yield* Nats;
      return yield* Effect.tryPromise({ try: () => createJetStreamBroker(nc, options), catch: (e) => MicroError.from(e, "unavailable") });
    }),
  );
}
