/**
 * A per-node circuit breaker, as Moleculer's: a node that fails `threshold` times within
 * `windowMs` (not delivered, gone silent mid-call, attempt timed out, `unavailable`) is
 * *open* — skipped by routing — for `cooldownMs`; then *half-open*: one call may try it, and
 * its outcome closes the breaker or opens it again. Replies of any kind, errors from handlers
 * included, count as success: the node is answering. When every node of a service is open,
 * routing ignores the breakers rather than make the service unreachable.
 *
 * The selector's own cool-down avoids a node for a moment after one failure; the breaker keeps
 * a node that keeps failing out of rotation for longer without letting one blip do so.
 * @module
 */

/** Options for {@link createCircuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Failures within `windowMs` that open the breaker; default 5. */
  readonly threshold?: number;
  /** The window failures are counted in, ms; default 10000. */
  readonly windowMs?: number;
  /** How long an open breaker skips its node before one trial call, ms; default 5000. */
  readonly cooldownMs?: number;
  /** Most nodes tracked (oldest forgotten first); default 10000. */
  readonly maxNodes?: number;
  /** Clock in ms; injectable for tests. */
  readonly now?: () => number;
}

/** The state of one node's breaker. */
export type BreakerState = "closed" | "open" | "half_open";

/**
 * Per-node breakers of one client's routing. Routing names a node by its key across services
 * and namespaces, `{namespace}.{service}.{nodeId}` (the selector's `Selection.key`): a node id
 * alone is unique only within its service and namespace.
 */
export interface CircuitBreaker {
  /** Nodes routing must skip now: open ones, and half-open ones whose trial call is out. */
  blocked(): ReadonlySet<string>;
  /** Routing chose the node `nodeKey`: a half-open node's trial starts. */
  chosen(nodeKey: string): void;
  /** The node answered. */
  success(nodeKey: string): void;
  /** The node failed to answer. */
  failure(nodeKey: string): void;
  state(nodeKey: string): BreakerState;
}

interface NodeBreaker {
  failures: number[];
  openUntil: number;
  trial: boolean;
}

/**
 * Creates per-node circuit breakers.
 *
 * @example
 * ```ts
 * const discovery = createDiscovery({ registry, breaker: { threshold: 3, cooldownMs: 10_000 } });
 * ```
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = Math.max(1, options.threshold ?? 5);
  const windowMs = options.windowMs ?? 10_000;
  const cooldownMs = options.cooldownMs ?? 5_000;
  const maxNodes = options.maxNodes ?? 10_000;
  const now = options.now ?? Date.now;
  const nodes = new Map<string, NodeBreaker>();
  /**
   * The nodes whose breaker has opened (open or half-open): only they can be blocked. Every
   * node that failed once stays in `nodes`, so `blocked()`, run on every routed call, walks
   * these instead.
   */
  const opened = new Map<string, NodeBreaker>();
  const empty: ReadonlySet<string> = new Set();

  function stateOf(node: NodeBreaker | undefined, t: number): BreakerState {
    if (node === undefined || node.openUntil === 0) return "closed";
    return t < node.openUntil ? "open" : "half_open";
  }

  return {
    blocked() {
      // The common case (no node ever opened) allocates nothing.
      if (opened.size === 0) return empty;
      const t = now();
      let out: Set<string> | undefined;
      for (const [id, node] of opened) {
        const state = stateOf(node, t);
        if (state === "open" || (state === "half_open" && node.trial)) (out ??= new Set()).add(id);
      }
      return out ?? empty;
    },
    chosen(nodeId) {
      const node = nodes.get(nodeId);
      if (node !== undefined && stateOf(node, now()) === "half_open") node.trial = true;
    },
    success(nodeId) {
      // A trial that got an answer closes the breaker; a closed one keeps counting its
      // failures, which age out of the window, so a node failing every other call still opens.
      const node = nodes.get(nodeId);
      if (node !== undefined && node.openUntil !== 0) {
        nodes.delete(nodeId);
        opened.delete(nodeId);
      }
    },
    failure(nodeId) {
      const t = now();
      let node = nodes.get(nodeId);
      if (node === undefined) {
        if (nodes.size >= maxNodes) {
          const oldest = nodes.keys().next().value!;
          nodes.delete(oldest);
          opened.delete(oldest);
        }
        nodes.set(nodeId, (node = { failures: [], openUntil: 0, trial: false }));
      }
      if (stateOf(node, t) === "half_open") {
        // The trial failed: open again for a full cool-down.
        node.openUntil = t + cooldownMs;
        node.trial = false;
        return;
      }
      node.failures = node.failures.filter((at) => t - at < windowMs);
      node.failures.push(t);
      if (node.failures.length >= threshold) {
        opened.set(nodeId, node);
        node.openUntil = t + cooldownMs;
        node.failures = [];
        node.trial = false;
      }
    },
    state(nodeId) {
      return stateOf(nodes.get(nodeId), now());
    },
  };
}
