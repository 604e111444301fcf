/**
 * Placement: which live node owns which shard. Nodes heartbeat a member entry (aged out by
 * the bucket TTL); each shard's owner is the live node with the highest rendezvous weight, so
 * all nodes agree without a coordinator and a join or leave moves only the shards it must.
 * Ownership itself is a lease entry per shard, written only with revision checks: a node
 * takes a shard when its lease is free (released on hand-off) or has not been renewed for a
 * whole lease time (its owner died), and renews its leases on every beat. The old owner
 * drains before it releases, so a key never runs on two nodes.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import type { KvWatchEntry } from "@nats-io/kv";
import type { ActorStore, Lease } from "./store.ts";
import { actorBucket } from "./store.ts";
import { isRevisionConflict, writeDurably } from "../nats/durable-kv.ts";
import { placementWeight } from "./key.ts";
import { listingBoundMs, listLiveKeys, withinMs } from "./key-listing.ts";
import { actorLeaseKey, actorMemberKey, actorTypeFilter, actorTypePrefix } from "../protocol/mod.ts";

/** What placement drives: start, drain and kill shard workers. */
export interface ShardControl {
  start(shard: number, checkpoint: number): Promise<void>;
  /** Drains the shard and resolves with its checkpoint. */
  drain(shard: number): Promise<number>;
  /** Stops the shard at once; resolves when its running handlers returned (bounded). */
  kill(shard: number): Promise<void>;
  /** Current checkpoint of an owned shard, or undefined if its worker failed. */
  checkpoint(shard: number): number | undefined;
  /** Purges what owned shards no longer need from the mailbox. */
  purge(shard: number): Promise<void>;
}

interface SeenLease {
  readonly lease: Lease | undefined;
  readonly revision: number;
  /** Local time the entry last changed: the owner is presumed dead a lease time later. */
  readonly changedAt: number;
}

/** Options of {@link Placement}. */
export interface PlacementOptions {
  readonly store: ActorStore;
  readonly namespace: string;
  readonly service: string;
  readonly nodeId: string;
  readonly shards: number;
  readonly leaseMs: number;
  readonly control: ShardControl;
  readonly onError: (error: unknown, what: string) => void;
}

export class Placement {
  readonly #o: PlacementOptions;
  readonly #prefix: string;
  readonly #leases = new Map<number, SeenLease>();
  readonly #owned = new Set<number>();
  readonly #busy = new Set<number>();
  #watch: { stop(): void } | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;
  #ticking: Promise<void> | undefined;
  #members: string[] = [];

  constructor(options: PlacementOptions) {
    this.#o = options;
    this.#prefix = actorTypePrefix(options.namespace, options.service);
  }

  /** Shards this node owns now. */
  get owned(): number[] {
    return [...this.#owned].sort((a, b) => a - b);
  }

  /** Live nodes as last seen. */
  get members(): readonly string[] {
    return this.#members;
  }

  async start(): Promise<void> {
    const watcher = await this.#o.store.leases.watch({ key: actorTypeFilter(this.#o.namespace, this.#o.service) });
    this.#watch = watcher;
    (async () => {
      for await (const entry of watcher) this.#seen(entry);
    })().catch(() => undefined);
    await this.tick();
    this.#timer = setInterval(() => void this.tick(), Math.max(100, Math.floor(this.#o.leaseMs / 3)));
  }

  #seen(entry: KvWatchEntry): void {
    const shard = Number(entry.key.slice(this.#prefix.length + 1));
    if (!Number.isInteger(shard)) return;
    const known = this.#leases.get(shard);
    if (known !== undefined && known.revision >= entry.revision) return;
    const lease = entry.operation === "PUT" && entry.length > 0 ? entry.json<Lease>() : undefined;
    this.#leases.set(shard, { lease, revision: entry.revision, changedAt: Date.now() });
  }

  /** One beat: heartbeat, then renew, hand off or take shards. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().catch((error) => this.#o.onError(error, "placement")).finally(() => (this.#ticking = undefined));
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    const { store, nodeId, shards, leaseMs } = this.#o;
    if (this.#stopping) return;
    // Member and lease writes ride out an election of their bucket for up to a lease time: a
    // beat that gave up at once would let this node's leases age out under a short election.
    await writeDurably(store.members, actorMemberKey(this.#o.namespace, this.#o.service, nodeId), String(Date.now()), undefined, Date.now() + leaseMs);
    // Not `kv.keys()`: its ordered consumer can land on a dead NATS node (see listLiveKeys).
    const boundMs = listingBoundMs(leaseMs);
    const keys = await withinMs(listLiveKeys(store.jsm, store.members, actorBucket.members, actorTypeFilter(this.#o.namespace, this.#o.service)), boundMs);
    if (keys === undefined) throw new MicroError("unavailable", `listing the members of ${this.#prefix} took over ${boundMs} ms; placement waits for the next beat`);
    const members = keys.map((k) => k.slice(this.#prefix.length + 1));
    if (!members.includes(nodeId)) members.push(nodeId);
    members.sort();
    this.#members = members;
    const now = Date.now();
    const work: Promise<void>[] = [];
    for (let shard = 0; shard < shards; shard++) {
      if (this.#busy.has(shard) || this.#stopping) continue;
      const desired = ownerOf(shard, members);
      const seen = this.#leases.get(shard);
      if (this.#owned.has(shard)) {
        // Not awaited: a long drain must not hold up the renewal of the other leases.
        if (desired !== nodeId) void this.#guard(shard, () => this.#handOff(shard));
        else work.push(this.#guard(shard, () => this.#renew(shard)));
        continue;
      }
      if (desired !== nodeId) continue;
      const free = seen === undefined || seen.lease === undefined || seen.lease.owner === "" || seen.lease.owner === nodeId || now - seen.changedAt > leaseMs;
      if (free) work.push(this.#guard(shard, () => this.#take(shard, seen)));
    }
    await Promise.all(work);
  }

  #guard(shard: number, run: () => Promise<void>): Promise<void> {
    this.#busy.add(shard);
    return run().catch((error) => this.#o.onError(error, `shard ${shard}`)).finally(() => this.#busy.delete(shard));
  }

  #key(shard: number): string {
    return actorLeaseKey(this.#o.namespace, this.#o.service, shard);
  }

  async #write(shard: number, lease: Lease, revision: number | undefined): Promise<boolean> {
    const kv = this.#o.store.leases;
    try {
      const value = JSON.stringify(lease);
      const next = await writeDurably(kv, this.#key(shard), value, revision ?? 0, Date.now() + this.#o.leaseMs);
      this.#seen({ key: this.#key(shard), revision: next, operation: "PUT", length: value.length, json: () => lease } as unknown as KvWatchEntry);
      return true;
    } catch (error) {
      if (isRevisionConflict(error)) return false;
      throw error;
    }
  }

  async #take(shard: number, seen: SeenLease | undefined): Promise<void> {
    const checkpoint = seen?.lease?.checkpoint ?? 0;
    if (!(await this.#write(shard, { owner: this.#o.nodeId, checkpoint }, seen?.revision))) return;
    this.#owned.add(shard);
    try {
      await this.#o.control.start(shard, checkpoint);
    } catch (error) {
      this.#owned.delete(shard);
      void this.#o.control.kill(shard);
      throw error;
    }
  }

  async #renew(shard: number): Promise<void> {
    const checkpoint = this.#o.control.checkpoint(shard);
    const seen = this.#leases.get(shard);
    if (checkpoint === undefined) {
      // The worker failed (a commit did not go through): start it again from the lease, once
      // its keys' running handlers have returned (never two activations of a key here).
      await this.#o.control.kill(shard);
      this.#owned.delete(shard);
      if (seen?.lease?.owner === this.#o.nodeId) await this.#take(shard, seen);
      return;
    }
    if (seen === undefined || seen.lease?.owner !== this.#o.nodeId || !(await this.#write(shard, { owner: this.#o.nodeId, checkpoint }, seen.revision))) {
      // Someone else holds it now (we were presumed dead): stop at once.
      void this.#o.control.kill(shard);
      this.#owned.delete(shard);
      return;
    }
    await this.#o.control.purge(shard).catch(() => undefined);
  }

  async #handOff(shard: number): Promise<void> {
    // The lease stays renewed while the shard drains, so nobody takes it before the drain ends.
    const keepAlive = setInterval(() => {
      const seen = this.#leases.get(shard);
      if (seen?.lease?.owner === this.#o.nodeId) this.#write(shard, seen.lease, seen.revision).catch(() => undefined);
    }, Math.max(100, Math.floor(this.#o.leaseMs / 3)));
    let checkpoint: number;
    try {
      checkpoint = await this.#o.control.drain(shard);
    } finally {
      clearInterval(keepAlive);
    }
    this.#owned.delete(shard);
    const seen = this.#leases.get(shard);
    if (seen?.lease?.owner === this.#o.nodeId) await this.#write(shard, { owner: "", checkpoint }, seen.revision);
  }

  /** Leaves: hands every shard off (drained, leases released) and removes the member entry. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#ticking;
    while (this.#busy.size > 0) await new Promise((r) => setTimeout(r, 10));
    await this.#o.store.members.delete(actorMemberKey(this.#o.namespace, this.#o.service, this.#o.nodeId)).catch(() => undefined);
    await Promise.all([...this.#owned].map((shard) => this.#handOff(shard).catch((error) => this.#o.onError(error, `hand-off of shard ${shard}`))));
    this.#watch?.stop();
  }
}

/** The live node that should own `shard`. */
export function ownerOf(shard: number, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of members) {
    const weight = placementWeight(node, shard);
    if (weight > bestWeight || (weight === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = weight;
    }
  }
  return best;
}
