/**
 * One app's service as the sidecar runs it: a service instance whose handlers forward to the
 * app, registered (with heartbeats) while it serves. With a health path, the app is polled:
 * while it is unhealthy the node is deregistered and stops taking calls (callers fail at once
 * with `unavailable` instead of waiting on a dead app); when it is healthy again a new node
 * serves and registers.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { JetStreamBroker, Registry, ServiceInstance, ServiceRecord, Transport } from "../../runtime/mod.ts";
import { startService } from "../../runtime/mod.ts";
import { serviceSubject } from "../../runtime/protocol/mod.ts";
import { serviceRecord } from "../../runtime/registry/records.ts";
import { keepRegistered, type Registration } from "../../runtime/registry/keep-registered.ts";
import { fetchFailure, forwardCall } from "./forward.ts";
import { defineJsonService, type JsonServiceSpec } from "./json-service.ts";

/** What every hosted service of one sidecar shares. */
export interface HostDeps {
  readonly connection: NatsConnection;
  readonly transport: Transport;
  readonly broker: JetStreamBroker | undefined;
  readonly registry: Registry;
  readonly namespace: string;
  readonly registryTtlMs: number;
  readonly drainTimeoutMs: number;
  readonly nodeMetadata: Readonly<Record<string, string>>;
  readonly log: (line: string) => void;
}

/** How the app's health is checked. */
export interface HealthCheck {
  /** Path on the app answering 2xx while it is healthy, e.g. `/health`. */
  readonly path: string;
  /** Time between checks, in ms. */
  readonly intervalMs: number;
  /** How long one check may take before it counts as failed, in ms. */
  readonly timeoutMs: number;
}

/** A service the sidecar hosts for an app. */
export interface HostedServiceSpec extends JsonServiceSpec {
  /** The app's base URL, without a trailing slash: `http://127.0.0.1:5000`. */
  readonly url: string;
  readonly health?: HealthCheck;
}

/** `serving` (registered, taking calls), `unhealthy` (neither), `stopped`. */
export type HostedState = "serving" | "unhealthy" | "stopped";

/** A hosted service as the sidecar API shows it. */
export interface HostedServiceView {
  readonly name: string;
  readonly version: string;
  readonly url: string;
  readonly endpoints: readonly { readonly name: string; readonly path: string }[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Calls sent to the app at once; more wait in the mailbox. */
  readonly concurrency: number;
  readonly state: HostedState;
  /** The node serving now; absent while unhealthy. */
  readonly nodeId?: string;
  /** Subject prefix of its endpoints: `micro.srv.orders`. */
  readonly subject: string;
  readonly health?: HealthCheck;
  /** Why the last health check failed, while unhealthy. */
  readonly lastHealthError?: string;
}

/** Runs one hosted service; see the module comment. */
export class HostedService {
  readonly spec: HostedServiceSpec;
  readonly #deps: HostDeps;
  #state: HostedState = "unhealthy";
  #instance: ServiceInstance | undefined;
  #registration: Registration | undefined;
  #healthTimer: ReturnType<typeof setTimeout> | undefined;
  #lastHealthError: string | undefined;
  /** Set as soon as stop() is called, so a health check in flight schedules no next one. */
  #stopping = false;
  // State changes run one at a time: a health flip never races a stop.
  #chain: Promise<void> = Promise.resolve();

  constructor(spec: HostedServiceSpec, deps: HostDeps) {
    this.spec = spec;
    this.#deps = deps;
  }

  get state(): HostedState {
    return this.#state;
  }

  /**
   * Starts serving, or, with a health check that fails now, starts polling and serves once
   * the app is healthy. Rejects when the instance cannot start or register.
   */
  async start(): Promise<void> {
    const health = this.spec.health;
    if (health === undefined) return this.#run(() => this.#serve());
    const problem = await this.#check(health);
    await this.#run(() => (problem === undefined ? this.#serve() : this.#pause(problem)));
    if (!this.#stopping) this.#schedule(health);
  }

  /** Stops polling, deregisters, and stops the instance (in-flight calls finish first). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#healthTimer);
    await this.#run(async () => {
      await this.#pause(undefined);
      this.#state = "stopped";
    });
  }

  view(): HostedServiceView {
    const { name, version, url, endpoints, metadata, health } = this.spec;
    return {
      name, version, url, metadata, state: this.#state, concurrency: this.spec.mailbox?.concurrency ?? 100,
      endpoints: endpoints.map((e) => ({ name: e.name, path: e.path })),
      subject: serviceSubject(this.#deps.namespace, "srv", name),
      ...(this.#instance ? { nodeId: this.#instance.nodeId } : {}),
      ...(health ? { health } : {}),
      ...(this.#state === "unhealthy" && this.#lastHealthError ? { lastHealthError: this.#lastHealthError } : {}),
    };
  }

  #run(change: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(change);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #serve(): Promise<void> {
    if (this.#state === "stopped" || this.#instance !== undefined) return;
    const deps = this.#deps;
    // `sidecar=true` in the metadata tells dashboards and `$SRV.INFO` readers how it is served.
    const spec = { ...this.spec, metadata: { ...this.spec.metadata, sidecar: "true" } };
    const definition = defineJsonService(spec, (endpoint, request, ctx) => forwardCall(this.spec.url, endpoint, request, ctx));
    const instance = await startService(definition, {
      connection: deps.connection,
      transport: deps.transport,
      broker: deps.broker,
      namespace: deps.namespace,
      drainTimeoutMs: deps.drainTimeoutMs,
      onHandlerError: (error, endpoint) => deps.log(`[${definition.name}] ${endpoint} failed: ${(error as Error).message}`),
    });
    const record = jsonRecord(serviceRecord(definition, { id: instance.nodeId, address: instance.nodeSubject, namespace: instance.namespace, metadata: deps.nodeMetadata }, deps.registryTtlMs));
    try {
      this.#registration = await keepRegistered(deps.registry, record);
    } catch (error) {
      // Nobody could discover it: it must not take calls behind the registry's back.
      await instance.stop();
      throw error;
    }
    this.#instance = instance;
    if (this.#state === "unhealthy" && this.#lastHealthError !== undefined) deps.log(`${this.spec.name} ${this.spec.version}: the app is healthy again, serving as ${instance.nodeId}`);
    this.#state = "serving";
    this.#lastHealthError = undefined;
  }

  /** Deregisters first (discovery stops choosing the node), then stops taking calls. */
  async #pause(problem: string | undefined): Promise<void> {
    const instance = this.#instance;
    const registration = this.#registration;
    this.#instance = undefined;
    this.#registration = undefined;
    if (problem !== undefined) {
      if (this.#state !== "unhealthy" || this.#lastHealthError === undefined) {
        this.#deps.log(`${this.spec.name} ${this.spec.version}: the app is unhealthy (${problem}); not taking calls until it is healthy`);
      }
      this.#state = "unhealthy";
      this.#lastHealthError = problem;
    }
    if (registration !== undefined) await registration.stop().catch(() => undefined);
    if (instance !== undefined) await instance.stop();
  }

  #schedule(health: HealthCheck): void {
    this.#healthTimer = setTimeout(async () => {
      if (this.#stopping) return;
      const problem = await this.#check(health);
      await this.#run(() => (problem === undefined ? this.#serve() : this.#pause(problem))).catch((error) => {
        this.#deps.log(`${this.spec.name} ${this.spec.version}: cannot serve again yet: ${(error as Error).message}`);
      });
      if (!this.#stopping) this.#schedule(health);
    }, health.intervalMs);
  }

  /** undefined when healthy, else what went wrong. */
  async #check(health: HealthCheck): Promise<string | undefined> {
    const url = `${this.spec.url}${health.path}`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(health.timeoutMs) });
      await response.arrayBuffer().catch(() => undefined);
      return response.ok ? undefined : `GET ${url} answered ${response.status}`;
    } catch (error) {
      const e = error as Error;
      return e.name === "TimeoutError" ? `GET ${url} took over ${health.timeoutMs} ms` : `GET ${url} failed: ${fetchFailure(e)}`;
    }
  }
}

/**
 * The registry record of a JSON service: its endpoints take any JSON object and answer any
 * JSON, so they list no fields (a form shows a JSON editor instead of the Struct internals).
 */
function jsonRecord(record: ServiceRecord): ServiceRecord {
  return {
    ...record,
    endpoints: record.endpoints.map((e) => ({ ...e, request: { typeName: e.request.typeName, fields: [] }, response: { typeName: e.response.typeName, fields: [] } })),
  };
}
