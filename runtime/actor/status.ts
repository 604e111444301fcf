/**
 * Seeing actors: every actor node answers a status subject with its shards and active keys;
 * {@link listActors} gathers the answers (for the CLI, the dashboard or a test).
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { actorStatusSubject, defaultNamespace } from "../protocol/mod.ts";
import type { ActiveKey } from "./shard.ts";

/** What one node reports. */
export interface ActorNodeStatus {
  readonly service: string;
  readonly nodeId: string;
  /** Shards this node owns. */
  readonly shards: readonly number[];
  /** Live nodes of the actor type, as this node sees them. */
  readonly members: readonly string[];
  /** Keys active (in memory) here, with their mailbox depth. */
  readonly active: readonly ActiveKey[];
}

/**
 * Asks every node of actor type `service` for its status; resolves with the answers that
 * arrive within `waitMs` (default 500).
 *
 * @example
 * ```ts
 * for (const node of await listActors(nc, "cart")) console.log(node.nodeId, node.active.map((a) => a.key));
 * ```
 */
export async function listActors(nc: NatsConnection, service: string, options: { namespace?: string; waitMs?: number } = {}): Promise<ActorNodeStatus[]> {
  const replies = await nc.requestMany(actorStatusSubject(options.namespace ?? defaultNamespace, service), "", { maxWait: options.waitMs ?? 500 });
  const nodes: ActorNodeStatus[] = [];
  for await (const msg of replies) {
    if (msg.data.length === 0) continue;
    try {
      nodes.push(msg.json<ActorNodeStatus>());
    } catch {
      // Not ours: skip.
    }
  }
  return nodes.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
}
