/**
 * The selector contract: which node of a service gets the next call.
 * @module
 */
import type { NodeRecord, Service } from "../registry/types.ts";

/** How to choose among the nodes that pass the filters. */
export type Strategy = "random" | "round_robin" | "latency";

/** Per-call choice constraints. */
export interface SelectOptions {
  /** Only this version. */
  readonly version?: string;
  /** Only nodes whose metadata (node's, over the service's) has all these values, e.g. `{zone: "a"}`. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Calls with the same key reach the same node while the node set is stable. */
  readonly key?: string;
  /** Version weights (canary, blue-green), e.g. `{"1.0.0": 90, "2.0.0": 10}`; ignored with `version`. */
  readonly weights?: Readonly<Record<string, number>>;
  /**
   * Nodes to skip (already tried by this call), by {@link Selection.key}: node ids are unique
   * only within a service and namespace, and one selector serves them all.
   */
  readonly exclude?: ReadonlySet<string>;
}

/** The chosen node and its version. */
export interface Selection {
  readonly node: NodeRecord;
  readonly version: string;
  /**
   * The node's key across services and namespaces, `{namespace}.{service}.{nodeId}` (its
   * registry key): what {@link SelectOptions.exclude} and {@link Selector.report} take.
   */
  readonly key: string;
}

/** Chooses nodes and learns from outcomes. */
export interface Selector {
  /** A node for the next call, or undefined when no node passes the filters. */
  select(services: readonly Service[], options?: SelectOptions): Selection | undefined;
  /**
   * Reports a call's outcome for the node of {@link Selection.key} `nodeKey`: failures put it
   * in cool-down, latencies feed `latency`.
   */
  report(nodeKey: string, outcome: { readonly ok: boolean; readonly latencyMs?: number }): void;
}
