/**
 * One replication setting for every store jetmicro creates (`MICRO_REPLICAS`): the event
 * stream and its DLQ, the actor stream and buckets, the registry and the routing rules. On a
 * cluster, a store on one replica dies with its node (keyed actors stop answering, the
 * registry forgets every service), so they all follow the same setting. A store that already
 * exists is checked, not silently used: one with fewer replicas is scaled up (JetStream moves
 * it online), and one that cannot be is reported with how to migrate it. One with more
 * replicas than asked is kept as it is: a process started without the setting (a CLI on a
 * laptop) must never scale down a cluster's stores.
 * @module
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { MicroError } from "../errors/micro-error.ts";
import { env } from "../platform/signals.ts";

/** JetStream's own bound on replicas. */
const maxReplicas = 5;

/** Checks `replicas` (1 to 5); `invalid_argument` naming `what`. */
export function checkReplicas(replicas: number, what = "replicas"): number {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > maxReplicas) {
    throw new MicroError("invalid_argument", `${what} must be a whole number from 1 to ${maxReplicas}, got ${replicas}`);
  }
  return replicas;
}

/**
 * Makes the existing stream `stream` (a KV bucket's is `KV_{bucket}`) keep at least
 * `replicas` copies: scales it up when it has fewer, and fails with `failed_precondition`
 * saying how to migrate it when the server refuses (e.g. a single server asked for 3).
 */
export async function ensureReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<number> {
  const info = await jsm.streams.info(stream);
  // A server outside a cluster takes any replica count and keeps one copy: its stream info
  // names no cluster, so that is what counts as the replicas it has.
  const has = info.cluster?.name === undefined ? 1 : info.config.num_replicas ?? 1;
  if (has >= replicas) return has;
  try {
    if (info.cluster?.name === undefined) throw new Error("the NATS server is not part of a cluster");
    await jsm.streams.update(stream, { ...info.config, num_replicas: replicas });
    return replicas;
  } catch (cause) {
    throw new MicroError(
      "failed_precondition",
      `the stream ${stream} has ${has} replica(s) but MICRO_REPLICAS asks for ${replicas}, and it cannot be changed (${(cause as Error).message}); ` +
        `run enough JetStream servers in the cluster and \`nats stream edit ${stream} --replicas ${replicas}\`, or set MICRO_REPLICAS=${has}`,
      { cause },
    );
  }
}

/** The replicas of stores when no option names them: `MICRO_REPLICAS` of the environment, else 1. */
export function replicasFromEnv(): number {
  const raw = env("MICRO_REPLICAS");
  return raw === undefined || raw === "" ? 1 : checkReplicas(Number(raw), `MICRO_REPLICAS ("${raw}")`);
}
