/**
 * Which nodes are alive, as the caller hears it: one subscription per namespace on the
 * instances' heartbeats (`{ns}.alive.*.*`, see `runtime/protocol/liveness.ts`), the last time
 * each node was heard, and watches for the nodes that hold calls in flight. A node heard
 * before and silent for `nodeGoneAfterMs` is gone: its watches fire at once, and the routing
 * step fails or moves the calls it held.
 *
 * A node never heard (one that does not send heartbeats, or one that died before this caller
 * subscribed) never counts as gone: its calls keep their deadline, as before liveness existed.
 *
 * Silence counts only while this process runs. A process that was stalled (a long GC pause, a
 * paused VM or container, a CPU starved by other work) wakes with every node's last heartbeat
 * old, its own services' included, though the heartbeats sent meanwhile are waiting in its
 * socket; judged at once, every call in flight would fail `unavailable` on a node that is
 * answering. So a check that runs late marks a stall, and for a heartbeat period after it no
 * node counts as gone: each live one is heard again first. A node dead all along is found that
 * much later.
 * @module
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { heartbeatEveryMs, isToken, nodeAliveFilter, nodeGoneAfterMs, nodeIdOfAliveSubject } from "../protocol/mod.ts";
import { sharedSignal } from "../platform/abort-listeners.ts";

/** Most nodes remembered per namespace: heartbeats of more new nodes are ignored until old ones age out. */
const maxNodes = 10_000;
/** A node silent this long is forgotten (it is long gone from the registry too). */
const forgetAfterMs = 60_000;
/** How often watched nodes are checked. */
const checkEveryMs = 100;
/**
 * A check this much later than the last one means this process was stalled. Below it a stall
 * cannot fake a silence: the last heartbeat before it is at most a heartbeat old, and both
 * together stay under {@link nodeGoneAfterMs}.
 */
const stalledAfterMs = 5 * checkEveryMs;
/**
 * After a stall, how long before silence counts again: one heartbeat period, in which every
 * live node is heard (a remote one's beats are waiting in the socket, read on the first turn;
 * a node in this process beats as it wakes and is heard a round trip later).
 */
const graceAfterStallMs = heartbeatEveryMs;
/** The signal of calls to nodes past the {@link maxNodes} bound: they keep their deadline. */
const neverAborted = new AbortController().signal;

/** Liveness of the nodes of one namespace, from their heartbeats. */
export class NodeLiveness {
  readonly #lastSeen = new Map<string, number>();
  /** Per watched node, the controller its calls' signals come from. */
  readonly #watches = new Map<string, AbortController>();
  readonly #sub: Subscription;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPrune = Date.now();
  /** When the watch timer last ran (or started). */
  #lastCheck = 0;
  /** When this process was last seen to wake from a stall (see the module comment). */
  #wokeAt = -Infinity;

  constructor(nc: NatsConnection, namespace: string) {
    this.#sub = nc.subscribe(nodeAliveFilter(namespace), {
      callback: (_error, msg) => {
        const id = nodeIdOfAliveSubject(namespace, msg.subject);
        if (!isToken(id)) return;
        if (this.#lastSeen.size >= maxNodes && !this.#lastSeen.has(id)) return;
        this.#lastSeen.set(id, Date.now());
      },
    });
  }

  /** When `nodeId` was last heard (epoch ms), or undefined if never (or long ago). */
  lastHeard(nodeId: string): number | undefined {
    return this.#lastSeen.get(nodeId);
  }

  /**
   * True when `nodeId` was heard before and has been silent for longer than the gone threshold,
   * and this process has been running long enough since a stall to have heard it again.
   */
  isGone(nodeId: string, now = Date.now()): boolean {
    const seen = this.#lastSeen.get(nodeId);
    return seen !== undefined && now - seen > nodeGoneAfterMs && now - this.#wokeAt >= graceAfterStallMs;
  }

  /**
   * A signal aborted when `nodeId` goes silent, shared by every call in flight on that node: one
   * controller per node rather than one per call (an `AbortController` per call cost routed
   * calls a visible share of their client CPU). A node that has gone gets a fresh controller
   * for the calls still sent to it, which the next check aborts if it is still silent.
   */
  signalFor(nodeId: string): AbortSignal {
    let controller = this.#watches.get(nodeId);
    if (controller === undefined || controller.signal.aborted) {
      if (this.#watches.size >= maxNodes && controller === undefined) return neverAborted;
      this.#watches.set(nodeId, (controller = new AbortController()));
      sharedSignal(controller.signal);
    }
    if (this.#timer === undefined) {
      this.#lastCheck = Date.now();
      this.#timer = setInterval(() => this.#check(), checkEveryMs);
      (this.#timer as { unref?: () => void }).unref?.();
    }
    return controller.signal;
  }

  /** Stops listening; watches never fire afterwards. */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watches.clear();
    try {
      this.#sub.unsubscribe();
    } catch {
      // the connection is already closed
    }
  }

  #check(): void {
    const now = Date.now();
    if (now - this.#lastCheck > stalledAfterMs) this.#wokeAt = now;
    this.#lastCheck = now;
    for (const [nodeId, controller] of this.#watches) {
      if (!this.isGone(nodeId, now)) continue;
      this.#watches.delete(nodeId);
      controller.abort(new Error(`node ${nodeId} went silent`));
    }
    if (this.#watches.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (now - this.#lastPrune > forgetAfterMs) {
      this.#lastPrune = now;
      for (const [nodeId, seen] of this.#lastSeen) if (now - seen > forgetAfterMs) this.#lastSeen.delete(nodeId);
      // Nodes no longer heard of need no controller; their calls have long settled.
      for (const nodeId of this.#watches.keys()) if (!this.#lastSeen.has(nodeId)) this.#watches.delete(nodeId);
    }
  }
}
