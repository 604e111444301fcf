import type { DescService } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../nats/connection.ts";
import { env } from "../platform/signals.ts";
import { createClient } from "./create-client.ts";
import { NatsTransport } from "./nats-transport.ts";
import type { Client, ClientOptions } from "./types.ts";

/** Options for {@link connectClient}. */
export interface ConnectClientOptions {
  /** NATS URL; default `NATS_URL`, else `nats://127.0.0.1:4222`. */
  readonly servers?: string;
  /** Namespace of the services to call; default `MICRO_NAMESPACE`, else `micro`. */
  readonly namespace?: string;
}

/** A connection for calling services: make typed clients, then `close()`. */
export interface MicroConnection {
  readonly nc: NatsConnection;
  readonly transport: NatsTransport;
  /** A typed client of `service` (see {@link createClient}). */
  client<S extends DescService>(service: S, options?: ClientOptions): Client<S>;
  /** Fails calls still waiting and closes the connection. */
  close(): Promise<void>;
}

/**
 * Connects to NATS for calling services, the shortest way from a script or an app.
 *
 * @example
 * ```ts
 * const micro = await connectClient();
 * const greeter = micro.client(Greeter);
 * console.log((await greeter.sayHello({ name: "Ada" })).message);
 * await micro.close();
 * ```
 */
export async function connectClient(options: ConnectClientOptions = {}): Promise<MicroConnection> {
  const nc = await connectNats({ servers: options.servers ?? env("NATS_URL") ?? "nats://127.0.0.1:4222", name: "jetmicro-client" });
  const transport = new NatsTransport(nc);
  const namespace = options.namespace ?? env("MICRO_NAMESPACE");
  return {
    nc,
    transport,
    client: (service, clientOptions = {}) => createClient(service, transport, { namespace, ...clientOptions }),
    async close() {
      await transport.close();
      await nc.drain().catch(() => nc.close());
    },
  };
}
