import type { NatsConnection } from "@nats-io/nats-core";
import { type KV, Kvm } from "@nats-io/kv";
import { jetstreamManager } from "@nats-io/jetstream";
import { MicroError } from "../errors/micro-error.ts";
import { watchKv } from "../nats/kv-watch.ts";
import { ensureReplicas, replicasFromEnv } from "../nats/replicas.ts";
import { checkedRouteRulesKey, kvStream, routeRulesKey } from "../protocol/mod.ts";

/** Traffic rules of one service, changed at runtime and followed by every client. */
export interface RoutingRule {
  /** Version weights, e.g. `{"1.0.0": 90, "2.0.0": 10}`; versions left out get none. */
  readonly weights: Readonly<Record<string, number>>;
}

/** Routing rules kept in NATS, watched by clients. */
export interface RoutingRules {
  /** The rule of a service now (from the local copy; no round trip). */
  get(namespace: string, service: string): RoutingRule | undefined;
  /** Sets (or with `undefined`, clears) the rule of a service for every client. */
  set(namespace: string, service: string, rule: RoutingRule | undefined): Promise<void>;
  close(): Promise<void>;
}

/**
 * Routing rules in the JetStream KV bucket `micro_routes` (key `{namespace}.{service}`),
 * copied locally and kept current by a watch, so changing weights takes effect in every
 * client within moments and without restarts.
 */
export async function createRoutingRules(nc: NatsConnection, bucket = "micro_routes", replicas = replicasFromEnv()): Promise<RoutingRules> {
  let kv: KV;
  try {
    kv = await new Kvm(nc).create(bucket, { history: 5, replicas });
    await ensureReplicas(await jetstreamManager(nc), kvStream(bucket), replicas);
  } catch (cause) {
    if (cause instanceof MicroError) throw cause;
    throw new MicroError("unavailable", `cannot open the routing rules bucket "${bucket}" (is JetStream enabled?): ${(cause as Error).message}`, { cause });
  }
  const rules = new Map<string, RoutingRule>();
  // Not `kv.watch()`: its ordered consumer can stall for good when its NATS node dies (kv-watch.ts).
  const watcher = await watchKv(nc, { bucket, include: "last-values", label: `routing rules ${bucket}` });
  (async () => {
    for await (const entry of watcher) {
      if (entry.operation === "PUT") {
        try {
          rules.set(entry.key, validRule(entry.json()));
        } catch {
          rules.delete(entry.key);
        }
      } else {
        rules.delete(entry.key);
      }
    }
  })().catch(() => undefined);
  await watcher.caughtUp(2000);

  return {
    get: (namespace, service) => rules.get(routeRulesKey(namespace, service)),
    async set(namespace, service, rule) {
      // Checked: the names come from people (`micro route set`), and the key is a subject.
      const key = checkedRouteRulesKey(namespace, service);
      if (rule === undefined) await kv.delete(key);
      else await kv.put(key, JSON.stringify(validRule(rule)));
    },
    async close() {
      watcher.stop();
    },
  };
}

/** Checks a rule; `invalid_argument` naming the bad weight. */
export function validRule(value: unknown): RoutingRule {
  const weights = (value as { weights?: unknown })?.weights;
  if (typeof weights !== "object" || weights === null) throw new MicroError("invalid_argument", "a routing rule needs weights, e.g. {\"1.0.0\": 90}");
  for (const [version, weight] of Object.entries(weights)) {
    if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
      throw new MicroError("invalid_argument", `weight of version "${version}" must be a number >= 0, got ${JSON.stringify(weight)}`);
    }
  }
  return { weights: { ...(weights as Record<string, number>) } };
}
