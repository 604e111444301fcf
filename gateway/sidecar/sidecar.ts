/**
 * The sidecar's state: the services it hosts for apps and the webhook subscriptions it
 * delivers, on one NATS connection. The HTTP API (`routes.ts`) and fronting mode (`run.ts`)
 * both drive it.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { JetStreamBroker, Registry, Transport } from "../../runtime/mod.ts";
import { defaultNamespace, MicroError } from "../../runtime/mod.ts";
import { HostedService, type HostedServiceSpec, type HostedServiceView } from "./hosted-service.ts";
import { startWebhook, type Webhook, type WebhookSpec } from "./webhooks.ts";

/** What a sidecar runs on; only `connection`, `transport` and `registry` are required. */
export interface SidecarOptions {
  /** The NATS connection hosted services serve on. */
  readonly connection: NatsConnection;
  /** How `/rpc` calls reach services. */
  readonly transport: Transport;
  /** Where hosted services register. */
  readonly registry: Registry;
  /** For publishing and subscriptions; without it those routes answer `failed_precondition`. */
  readonly broker?: JetStreamBroker;
  /** Namespace of hosted and called services (`micro`). */
  readonly namespace?: string;
  /** Registry TTL of hosted nodes in ms (15000); heartbeats every third of it. */
  readonly registryTtlMs?: number;
  /** How long deregistering waits for the app's in-flight calls, in ms (10000). */
  readonly drainTimeoutMs?: number;
  /** Health poll interval when a registration names a health path but no interval, in ms (5000). */
  readonly healthIntervalMs?: number;
  /** Registry metadata of hosted nodes (zone, rack, ...). */
  readonly nodeMetadata?: Readonly<Record<string, string>>;
  /** Progress and health changes (`console.log`). */
  readonly log?: (line: string) => void;
}

/** A webhook subscription as the API shows it. */
export interface WebhookView extends WebhookSpec {
  readonly id: string;
}

/** A running sidecar; see {@link createSidecar}. */
export interface Sidecar {
  readonly namespace: string;
  readonly transport: Transport;
  readonly registry: Registry;
  readonly broker: JetStreamBroker | undefined;
  /** Defaults for API requests. */
  readonly healthIntervalMs: number;
  /**
   * Hosts a service for an app. A registration with the same name, version and URL as a
   * hosted one replaces it (an app that restarts registers again without piling up nodes).
   */
  register(spec: HostedServiceSpec): Promise<HostedServiceView>;
  /** Stops hosting every service named `name` (of `version`, when given); resolves with what stopped. */
  deregister(name: string, version?: string): Promise<HostedServiceView[]>;
  /** The services hosted here. */
  hosted(): HostedServiceView[];
  /**
   * Starts delivering events to a webhook. Subscribing again with the same topic, URL and
   * service returns the running subscription (an app may subscribe on every start).
   */
  subscribe(spec: WebhookSpec): Promise<WebhookView>;
  /** Stops a webhook subscription; false when there is none with that id. */
  unsubscribe(id: string): Promise<boolean>;
  webhooks(): WebhookView[];
  /** Stops every hosted service and subscription (the connection is the caller's). */
  close(): Promise<void>;
}

/**
 * Creates a sidecar on an open connection.
 *
 * @example
 * ```ts
 * const sidecar = createSidecar({ connection: nc, transport, registry, broker });
 * await sidecar.register({ name: "orders", version: "1.0.0", url: "http://127.0.0.1:5000",
 *   endpoints: [{ name: "Orders.Create", path: "/orders" }], metadata: {} });
 * const app = createSidecarApp(sidecar); // the HTTP API, or mount it: createGateway({ ..., sidecar })
 * ```
 */
export function createSidecar(options: SidecarOptions): Sidecar {
  const namespace = options.namespace ?? defaultNamespace;
  const log = options.log ?? ((line: string) => console.log(line));
  const deps = {
    connection: options.connection,
    transport: options.transport,
    broker: options.broker,
    registry: options.registry,
    namespace,
    registryTtlMs: options.registryTtlMs ?? 15_000,
    drainTimeoutMs: options.drainTimeoutMs ?? 10_000,
    nodeMetadata: options.nodeMetadata ?? {},
    log,
  };
  const services = new Set<HostedService>();
  const hooks = new Map<string, Webhook>();
  let closed = false;

  const needBroker = (what: string): JetStreamBroker => {
    if (options.broker === undefined) throw new MicroError("failed_precondition", `${what} needs JetStream, and this sidecar runs without an event broker`);
    return options.broker;
  };
  const open = () => {
    if (closed) throw new MicroError("unavailable", "the sidecar is stopping");
  };

  return {
    namespace,
    transport: options.transport,
    registry: options.registry,
    broker: options.broker,
    healthIntervalMs: options.healthIntervalMs ?? 5000,

    async register(spec) {
      open();
      const service = new HostedService(spec, deps);
      try {
        await service.start();
      } catch (error) {
        await service.stop().catch(() => undefined);
        throw MicroError.from(error, "unavailable");
      }
      if (closed) {
        await service.stop();
        throw new MicroError("unavailable", "the sidecar is stopping");
      }
      // The new node serves before the one it replaces stops: no gap where nobody answers.
      const replaced = [...services].filter((s) => s.spec.name === spec.name && s.spec.version === spec.version && s.spec.url === spec.url);
      for (const s of replaced) services.delete(s);
      services.add(service);
      await Promise.all(replaced.map((s) => s.stop()));
      return service.view();
    },

    async deregister(name, version) {
      const matching = [...services].filter((s) => s.spec.name === name && (version === undefined || s.spec.version === version));
      for (const s of matching) services.delete(s);
      await Promise.all(matching.map((s) => s.stop()));
      return matching.map((s) => s.view());
    },

    hosted: () => [...services].map((s) => s.view()),

    async subscribe(spec) {
      open();
      const running = [...hooks.values()].find((h) => h.spec.topic === spec.topic && h.spec.url === spec.url && h.spec.service === spec.service);
      if (running !== undefined) return { id: running.id, ...running.spec };
      const hook = await startWebhook(needBroker("a subscription"), spec);
      if (closed) {
        await hook.stop();
        throw new MicroError("unavailable", "the sidecar is stopping");
      }
      hooks.set(hook.id, hook);
      return { id: hook.id, ...spec };
    },

    async unsubscribe(id) {
      const hook = hooks.get(id);
      if (hook === undefined) return false;
      hooks.delete(id);
      await hook.stop();
      return true;
    },

    webhooks: () => [...hooks.values()].map((h) => ({ id: h.id, ...h.spec })),

    async close() {
      closed = true;
      const all = [...services];
      services.clear();
      const subscriptions = [...hooks.values()];
      hooks.clear();
      await Promise.all([...all.map((s) => s.stop()), ...subscriptions.map((h) => h.stop())]);
    },
  };
}
