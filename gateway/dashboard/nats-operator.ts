/**
 * The dashboard's operator source on NATS, built from what the gateway's main already holds
 * (connection, registry, broker, routing rules). It asks what the `micro` commands ask:
 * `$SRV.PING`/`$SRV.STATS` (`micro health`/`stats`), the `micro_routes` rules (`micro traffic`),
 * the broker's dead letters (`micro dlq`) and JetStream's stream and consumer info
 * (`micro events`), so the page and the CLI never disagree.
 *
 * The node numbers are collected for a short wait on every ask; a page refreshing every 2 s
 * in many browsers would multiply that, so one answer is shared for {@link nodesCacheMs}.
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { JetStreamBroker } from "../../runtime/broker/nats-jetstream.ts";
import type { DeadLetter } from "../../runtime/broker/types.ts";
import { eventOverview } from "../../runtime/broker/inspect.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { natsMicroServiceStats, pingNatsMicroServices } from "../../runtime/registry/nats-micro-status.ts";
import type { Registry } from "../../runtime/registry/types.ts";
import type { RoutingRules } from "../../runtime/selector/routing-rules.ts";
import type { EndpointStatus, NodeStatus, OperatorSource, WeightsStatus } from "./operator.ts";

/** How long one nodes answer is shared between askers, ms. */
export const nodesCacheMs = 1000;

/** What {@link createNatsOperator} reads from. */
export interface NatsOperatorOptions {
  readonly nc: NatsConnection;
  /** The gateway's namespace: the services, weights and events shown. */
  readonly namespace: string;
  readonly registry: Registry;
  /** Without it, dead letters and events are empty and redrive is `unavailable`. */
  readonly broker?: JetStreamBroker;
  /** Without them, weights are shown as none and changing them is `unavailable`. */
  readonly rules?: RoutingRules;
  /** How long to collect `$SRV.PING`/`$SRV.STATS` answers, ms (300). */
  readonly waitMs?: number;
  /** Event stream name (the broker's default `MICRO_EVENTS`). */
  readonly stream?: string;
}

/** The operator source on NATS; see the module comment. */
export function createNatsOperator(options: NatsOperatorOptions): OperatorSource {
  const { nc, namespace, registry, broker, rules } = options;
  const waitMs = options.waitMs ?? 300;
  let cached: { at: number; nodes: Promise<readonly NodeStatus[]> } | undefined;

  async function collectNodes(): Promise<readonly NodeStatus[]> {
    const [pings, stats, services] = await Promise.all([
      pingNatsMicroServices(nc, { waitMs }),
      natsMicroServiceStats(nc, { waitMs }),
      registry.listServices(),
    ]);
    const statsById = new Map(stats.map((s) => [s.id, s]));
    const answered = new Set(pings.map((p) => p.id));
    const nodes: NodeStatus[] = pings.map((p) => {
      const s = statsById.get(p.id);
      return { service: p.name, version: p.version, node: p.id, status: "ok", pingMs: p.latencyMs, started: s?.started ?? "", endpoints: (s?.endpoints ?? []).map(endpointStatus) };
    });
    for (const service of services) {
      if (service.namespace !== namespace) continue;
      for (const n of service.nodes) {
        if (!answered.has(n.id)) nodes.push({ service: service.name, version: service.version, node: n.id, status: "no answer", pingMs: null, started: "", endpoints: [] });
      }
    }
    return nodes.sort((a, b) => a.service.localeCompare(b.service) || a.version.localeCompare(b.version) || a.node.localeCompare(b.node));
  }

  async function running(service: string): Promise<string[]> {
    return [...new Set((await registry.getService(service, namespace)).map((s) => s.version))].sort();
  }

  async function letters(service: string, until: (letter: DeadLetter, count: number) => boolean): Promise<DeadLetter[]> {
    if (broker === undefined) return [];
    const found: DeadLetter[] = [];
    for await (const letter of broker.deadLetters(service)) {
      found.push(letter);
      if (until(letter, found.length)) break;
    }
    return found;
  }

  return {
    nodes() {
      const now = Date.now();
      if (cached === undefined || now - cached.at > nodesCacheMs) {
        const nodes = collectNodes();
        cached = { at: now, nodes };
        // A failed ask is not kept: the next refresh asks again.
        nodes.catch(() => (cached = undefined));
      }
      return cached.nodes;
    },
    async weights() {
      const names = new Set((await registry.listServices()).filter((s) => s.namespace === namespace && s.type !== "web").map((s) => s.name));
      return Promise.all([...names].sort().map(async (service): Promise<WeightsStatus> => ({
        service, weights: rules?.get(namespace, service)?.weights ?? null, running: await running(service),
      })));
    },
    async setWeights(service, weights, force) {
      if (rules === undefined) throw new MicroError("unavailable", "this gateway has no routing rules (micro_routes) to change");
      const versions = await running(service);
      if (weights !== undefined && !force) checkWeights(service, namespace, weights, versions);
      await rules.set(namespace, service, weights === undefined ? undefined : { weights });
      return { service, weights: weights ?? null, running: versions };
    },
    deadLetters: (service, limit) => letters(service, (_l, count) => count >= limit),
    async deadLetter(service, sequence) {
      // Read through the service's letters: a sequence of another service's letter is not found
      // here. None is kept on the way: a sequence far ahead (any number the path holds) would
      // otherwise hold every letter of the service, data and all, in memory at once.
      if (broker === undefined) return undefined;
      for await (const letter of broker.deadLetters(service)) {
        if (letter.deadLetterSequence === sequence) return letter;
        if (letter.deadLetterSequence > sequence) return undefined;
      }
      return undefined;
    },
    async redrive(service) {
      if (broker === undefined) throw new MicroError("unavailable", "this gateway has no event broker");
      return broker.redrive(service);
    },
    events: () => eventOverview(nc, { namespace, ...(options.stream === undefined ? {} : { stream: options.stream }) }),
  };
}

/** What `micro traffic` refuses without `--force`: weights no call could follow. */
function checkWeights(service: string, namespace: string, weights: Readonly<Record<string, number>>, running: readonly string[]): void {
  if (running.length === 0) {
    throw new MicroError("failed_precondition", `no version of ${service} runs in namespace "${namespace}"; force sets the weights anyway`, { detail: service });
  }
  const missing = Object.entries(weights).filter(([version, weight]) => weight > 0 && !running.includes(version)).map(([version]) => version);
  if (missing.length > 0) {
    throw new MicroError("failed_precondition", `${missing.join(", ")} of ${service} ${missing.length === 1 ? "does" : "do"} not run (running: ${running.join(", ")}): its share of the calls would fail; force sets the weights anyway`, { detail: missing.join(",") });
  }
}

function endpointStatus(e: { name: string; requests: number; errors: number; averageMs: number; lastError: string; data: Readonly<Record<string, unknown>> }): EndpointStatus {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
  const p50 = num(e.data.p50_ms);
  const p99 = num(e.data.p99_ms);
  const mailbox = num(e.data.mailbox_depth);
  return {
    name: e.name, requests: e.requests, errors: e.errors, averageMs: e.averageMs, lastError: e.lastError,
    ...(p50 === undefined ? {} : { p50Ms: p50 }),
    ...(p99 === undefined ? {} : { p99Ms: p99 }),
    ...(mailbox === undefined ? {} : { mailboxDepth: mailbox }),
  };
}
