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
  /** Node ids to skip (already tried by this call). */
  readonly exclude?: ReadonlySet<string>;
}

/** The chosen node and its version. */
export interface Selection {
  readonly node: NodeRecord;
  readonly version: string;
}

/** Chooses nodes and learns from outcomes. */
export interface Selector {
  /** A node for the next call, or undefined when no node passes the filters. */
  select(services: readonly Service[], options?: SelectOptions): Selection | undefined;
  /** Reports a call's outcome: failures put the node in cool-down, latencies feed `latency`. */
  report(nodeId: string, outcome: { readonly ok: boolean; readonly latencyMs?: number }): void;
}
