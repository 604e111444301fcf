/**
 * The contract of the dashboard's operator data source: what the operator pages read (live
 * per-node and per-endpoint stats and health, version weights, dead letters, event topics with
 * consumer lag) and the two writes they make (set weights, redrive dead letters). The gateway
 * takes one as `deps.operator`; without one the dashboard shows no operator sections and mounts
 * no `/dashboard/api/*` routes. `nats-operator.ts` is the real one (the same runtime code the
 * `micro stats|health|traffic|dlq|events` commands use); tests may pass their own.
 * @module
 */
import type { DeadLetter } from "../../runtime/broker/types.ts";
import type { EventOverview } from "../../runtime/broker/inspect.ts";

/** One endpoint's numbers from its node's `$SRV.STATS` answer. */
export interface EndpointStatus {
  readonly name: string;
  readonly requests: number;
  readonly errors: number;
  /** Average processing time, ms. */
  readonly averageMs: number;
  /** jetmicro nodes add percentiles and the mailbox depth; other NATS services may not. */
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly mailboxDepth?: number;
  readonly lastError: string;
}

/** One node of a service: whether it answered a ping, and its endpoints' numbers. */
export interface NodeStatus {
  readonly service: string;
  readonly version: string;
  readonly node: string;
  /** `ok`: it answered `$SRV.PING`; `no answer`: registered, but silent. */
  readonly status: "ok" | "no answer";
  /** Ping round trip, ms (null without an answer). */
  readonly pingMs: number | null;
  /** ISO time the node started (from its stats; "" when unknown). */
  readonly started: string;
  readonly endpoints: readonly EndpointStatus[];
}

/** A service's version weights as `micro traffic` shows them. */
export interface WeightsStatus {
  readonly service: string;
  /** The weights in `micro_routes`, or null: every running version gets calls. */
  readonly weights: Readonly<Record<string, number>> | null;
  /** Versions registered now. */
  readonly running: readonly string[];
}

/** The operator data the dashboard reads and changes; every name it gets is checked already. */
export interface OperatorSource {
  /** Every node that answers `$SRV.PING`/`$SRV.STATS`, and registered nodes that do not. */
  nodes(): Promise<readonly NodeStatus[]>;
  /** The weights of every service registered in the gateway's namespace (and of any with weights). */
  weights(): Promise<readonly WeightsStatus[]>;
  /**
   * Sets (or with undefined, clears) a service's weights in `micro_routes`. Refuses
   * (`failed_precondition`) weights for a service nobody runs, or giving traffic to a version
   * nobody runs, unless `force` (a version about to be deployed).
   */
  setWeights(service: string, weights: Readonly<Record<string, number>> | undefined, force: boolean): Promise<WeightsStatus>;
  /** A service's dead letters, oldest first, at most `limit`. */
  deadLetters(service: string, limit: number): Promise<readonly DeadLetter[]>;
  /** One dead letter of a service by its sequence, or undefined. */
  deadLetter(service: string, sequence: number): Promise<DeadLetter | undefined>;
  /** Sends a service's dead letters back to it; resolves with how many. */
  redrive(service: string): Promise<number>;
  /** Topics with counts, consumers with lag, dead letters per service. */
  events(): Promise<EventOverview>;
}
