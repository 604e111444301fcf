import { registryKey } from "../protocol/mod.ts";
import type { NodeRecord, Service } from "../registry/types.ts";
import type { Selection, SelectOptions, Selector, Strategy } from "./types.ts";

/** Options for {@link createSelector}. */
export interface SelectorOptions {
  /** Default `random`, as go-micro. */
  readonly strategy?: Strategy;
  /** How long a node that failed is avoided, in ms; default 2000. */
  readonly cooldownMs?: number;
  /** With `latency`: share of calls sent to a random node to keep measuring the others; default 0.1. */
  readonly probeRate?: number;
  /** Random numbers in [0, 1); injectable for tests. */
  readonly random?: () => number;
  /** Clock in ms; injectable for tests. */
  readonly now?: () => number;
}

interface Candidate {
  readonly node: NodeRecord;
  readonly version: string;
  /** What the selector's state is kept by: a node id is unique only within its service and namespace. */
  readonly key: string;
  /** The node's metadata over its service's, which `labels` select on. */
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Creates a selector. Filters apply in order: version (or weighted version choice), labels,
 * exclusions, cool-down (ignored when every node is cooling down, so a service is never
 * unreachable because of it); then the key (rendezvous hashing) or the strategy picks.
 *
 * @example
 * ```ts
 * const selector = createSelector({ strategy: "round_robin" });
 * const choice = selector.select(await registry.getService("greeter"), { weights: { "1.0.0": 90, "2.0.0": 10 } });
 * ```
 */
export function createSelector(options: SelectorOptions = {}): Selector {
  const strategy = options.strategy ?? "random";
  const cooldownMs = options.cooldownMs ?? 2000;
  const probeRate = options.probeRate ?? 0.1;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const coolingUntil = new Map<string, number>();
  const latency = new Map<string, number>();
  let turn = 0;

  function pick(candidates: readonly Candidate[]): Candidate {
    const at = (i: number) => candidates[i % candidates.length]!;
    switch (strategy) {
      case "round_robin":
        return at(turn++);
      case "latency": {
        const unmeasured = candidates.filter((c) => !latency.has(c.key));
        if (unmeasured.length > 0) return unmeasured[Math.floor(random() * unmeasured.length)]!;
        if (random() < probeRate) return at(Math.floor(random() * candidates.length));
        return candidates.reduce((best, c) => (latency.get(c.key)! < latency.get(best.key)! ? c : best));
      }
      default:
        return at(Math.floor(random() * candidates.length));
    }
  }

  return {
    select(services: readonly Service[], select: SelectOptions = {}): Selection | undefined {
      // Sorted by node id (stable order, so round robin and hashing do not depend on registry
      // order); every filter below keeps that order.
      let candidates = sortedCandidates(services, select.labels);
      // Exclusions first, so a retry draws among versions that still have an untried node.
      if (select.exclude !== undefined && select.exclude.size > 0) candidates = candidates.filter((c) => !select.exclude!.has(c.key));
      if (select.version !== undefined) candidates = candidates.filter((c) => c.version === select.version);
      else if (select.weights !== undefined) candidates = weightedVersion(candidates, select.weights, random);
      if (candidates.length === 0) return undefined;
      // Most of the time no node is cooling down: then there is nothing to filter.
      if (coolingUntil.size > 0) {
        const t = now();
        const warm = candidates.filter((c) => (coolingUntil.get(c.key) ?? 0) <= t);
        if (warm.length > 0) candidates = warm;
      }
      const chosen = select.key !== undefined ? rendezvous(candidates, select.key) : pick(candidates);
      return { node: chosen.node, version: chosen.version, key: chosen.key };
    },
    report(nodeKey, outcome) {
      if (!outcome.ok) coolingUntil.set(nodeKey, now() + cooldownMs);
      else coolingUntil.delete(nodeKey);
      if (outcome.latencyMs !== undefined) {
        const previous = latency.get(nodeKey);
        // Exponentially weighted, so a node recovers its rank after a slow spell.
        latency.set(nodeKey, previous === undefined ? outcome.latencyMs : previous * 0.8 + outcome.latencyMs * 0.2);
      }
    },
  };
}

/**
 * The candidates of a registry snapshot, sorted by node id, kept per snapshot (discovery
 * replaces its array when the registry changes, never edits it), so a call does not flatten,
 * key and sort the nodes again; with labels, a call filters them.
 */
const sortedPerSnapshot = new WeakMap<readonly Service[], readonly Candidate[]>();

function sortedCandidates(services: readonly Service[], labels: Readonly<Record<string, string>> | undefined): readonly Candidate[] {
  let sorted = sortedPerSnapshot.get(services);
  if (sorted === undefined) {
    sorted = flatten(services).sort((a, b) => (a.node.id < b.node.id ? -1 : 1));
    sortedPerSnapshot.set(services, sorted);
  }
  if (labels === undefined) return sorted;
  const wanted = Object.entries(labels);
  return sorted.filter((c) => wanted.every(([k, v]) => c.metadata[k] === v));
}

function flatten(services: readonly Service[]): Candidate[] {
  const out: Candidate[] = [];
  for (const service of services) {
    for (const node of service.nodes) {
      out.push({ node, version: service.version, key: registryKey(service.namespace, service.name, node.id), metadata: { ...service.metadata, ...node.metadata } });
    }
  }
  return out;
}

/** Keeps the candidates of one version, drawn by weight among the versions present. */
function weightedVersion(candidates: readonly Candidate[], weights: Readonly<Record<string, number>>, random: () => number): readonly Candidate[] {
  const present = [...new Set(candidates.map((c) => c.version))].sort();
  const weighted = present.map((v) => [v, Math.max(0, weights[v] ?? 0)] as const).filter(([, w]) => w > 0);
  // No weight for any running version: rules must not make a live service unreachable.
  if (weighted.length === 0) return candidates;
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let draw = random() * total;
  let version = weighted[weighted.length - 1]![0];
  for (const [v, w] of weighted) {
    if (draw < w) {
      version = v;
      break;
    }
    draw -= w;
  }
  return candidates.filter((c) => c.version === version);
}

/** Rendezvous (highest random weight) hashing: stable per key, moves only a lost node's keys. */
function rendezvous(candidates: readonly Candidate[], key: string): Candidate {
  let best = candidates[0]!;
  let bestScore = -1;
  for (const c of candidates) {
    const score = fnv1a(`${key}\u0000${c.node.id}`);
    if (score > bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // One more mixing round: FNV alone clusters on inputs that differ only at the end.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}
