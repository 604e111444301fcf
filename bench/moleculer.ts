/**
 * The Moleculer peer as its users run it: a `ServiceBroker` per process on the NATS
 * transporter (the `nats` v2 library it requires), JSON serializer, the `greeter.sayHello`
 * action answering what jetmicro's greeter answers. Shared by the RPC benchmark's server and
 * client and by the gateway benchmark's moleculer-web process, so every Moleculer node agrees
 * on namespace and transport. Logging, metrics and tracing stay off, as in jetmicro's runs.
 * @module
 */
import { ServiceBroker } from "moleculer";

/** Moleculer namespace of the benchmark: its subjects (`MOL-bench.…`) never meet a developer's own. */
export const moleculerNamespace = "bench";

/** A broker on `natsUrl`; `nodeID` must be unique among the benchmark's running nodes. */
export function moleculerBroker(natsUrl: string, nodeID: string, requestTimeoutMs = 10_000): ServiceBroker {
  return new ServiceBroker({
    namespace: moleculerNamespace,
    nodeID,
    transporter: { type: "NATS", options: { url: natsUrl } },
    logger: false,
    requestTimeout: requestTimeoutMs,
  });
}

/** Adds the greeter action (same greeting as `services/greeter.ts`) to `broker`. */
export function addMoleculerGreeter(broker: ServiceBroker): void {
  broker.createService({
    name: "greeter",
    actions: {
      sayHello(ctx: { params: { name: string } }) {
        return { message: `Hello ${ctx.params.name}` };
      },
    },
  });
}
