import type { DescService } from "@bufbuild/protobuf";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../nats/connection.ts";
import { natsOptionsOf } from "../nats/connect-options.ts";
import { readSettings } from "../config/mod.ts";
import { createClient } from "./create-client.ts";
import { NatsTransport } from "./nats-transport.ts";
import type { Client, ClientOptions } from "./types.ts";

/** Options for {@link connectClient}. */
export interface ConnectClientOptions {
  /**
   * NATS URL; default `NATS_URL` (an empty one counts as unset, as for the runner), else
   * `nats://127.0.0.1:4222`. Credentials and TLS come from the settings (`NATS_USER`,
   * `NATS_TOKEN`, `NATS_CREDS`, `NATS_CA`, ...) or the URL.
   */
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
  // The process settings, read as the runner and the CLI read them.
  const settings = readSettings({ flags: { NATS_URL: options.servers, MICRO_NAMESPACE: options.namespace } });
  const nc = await connectNats(natsOptionsOf(settings, "jetmicro-client"));
  const transport = new NatsTransport(nc);
  const namespace = settings.namespace;
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
