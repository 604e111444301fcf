/**
 * Which nodes are alive, as the caller hears it: one subscription per namespace on the
 * instances' heartbeats (`{ns}.alive.*.*`, see `runtime/protocol/liveness.ts`), the last time
 * each node was heard, and watches for the nodes that hold calls in flight. A node heard
 * before and silent for `nodeGoneAfterMs` is gone (once that silence is confirmed, below): its
 * watches fire, and the routing step fails or moves the calls it held.
 *
 * A node never heard (one that does not send heartbeats, or one that died before this caller
 * subscribed) never counts as gone: its calls keep their deadline, as before liveness existed.
 *
 * Silence alone does not make a node gone: a stalled process may be the caller (a long GC
 * pause, a paused VM or container, a starved CPU: it wakes with every heartbeat old, its own
 * services' included, though the ones sent meanwhile wait in its socket) or its NATS server (a
 * paused or overloaded one delivers nothing, then everything). Judged on silence alone, pausing
 * the gateway's process 1.6 s under load failed the 30 calls it held, and pausing the
 * nats-server 2 s failed 288: those in flight, then every call sent until the server woke. So a
 * node silent past the threshold keeps its calls until the server has answered a PING sent after
 * the silence began and the node is still silent a moment after that answer: heartbeats waiting
 * in the socket are read before it, and those a stalled server kept come right behind it. An
 * answer that took over a check's period means the server was stalled: for a heartbeat period
 * after it no node counts as gone, while its heartbeats catch up.
 *
 * The path to the server may break instead. A node heard before the connection dropped, or
 * before a PING that has gone unanswered for {@link pingGiveUpMs} (a half-open connection: a
 * server host gone without a word, a cut network), is gone at once: what it held may be lost with
 * the path. A server that stalls that long is treated the same way. Only this caller's own server
 * is asked: a node attached to another server of a cluster that stalls looks dead.
 * @module
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { heartbeatEveryMs, nodeAliveFilter, nodeGoneAfterMs, nodeIdOfAliveSubject } from "../protocol/mod.ts";
import { sharedSignal } from "../platform/abort-listeners.ts";

/** Most nodes remembered per namespace: heartbeats of more new nodes are ignored until old ones age out. */
const maxNodes = 10_000;
/** A node silent this long is forgotten (it is long gone from the registry too). */
const forgetAfterMs = 60_000;
/** How often watched nodes are checked. */
const checkEveryMs = 100;
/** A PING answered later than this means the server (or the path to it) was stalled. */
const lateAnswerMs = checkEveryMs;
/** After a stalled server answers, how long before silence counts again: one heartbeat period, while its kept heartbeats arrive. */
const graceAfterStallMs = heartbeatEveryMs;
/**
 * How long after the server's answer to a PING a silent node is judged: heartbeats the server
 * kept while stalled come right behind its answer, in the same write or the next.
 */
const behindAnswerMs = checkEveryMs / 2;
/** A PING unanswered this long means the path to the server is broken (see the module comment). */
export const pingGiveUpMs = 2 * nodeGoneAfterMs;
/** The signal of calls to nodes past the {@link maxNodes} bound: they keep their deadline. */
const neverAborted = new AbortController().signal;

/** Liveness of the nodes of one namespace, from their heartbeats. */
export class NodeLiveness {
  readonly #lastSeen = new Map<string, number>();
  /** Per watched node, the controller its calls' signals come from. */
  readonly #watches = new Map<string, AbortController>();
  readonly #sub: Subscription;
  readonly #nc: NatsConnection;
  readonly #statuses: AsyncIterable<{ type: string }> & { stop?: () => void };
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastPrune = Date.now();
  /** When a stalled server last answered (see the module comment). */
  #serverWokeAt = -Infinity;
  /** When the connection last dropped. */
  #disconnectedAt = -Infinity;
  /** When the PING in flight was sent, if one is. */
  #pingSentAt: number | undefined;
  /** The last PING answered: when it was sent and when its answer came. */
  #answered = { sentAt: -Infinity, at: -Infinity };

  constructor(nc: NatsConnection, namespace: string) {
    this.#nc = nc;
    const statuses = (this.#statuses = nc.status());
    (async () => {
      for await (const status of statuses) if (status.type === "disconnect") this.#disconnectedAt = Date.now();
    })().catch(() => undefined);
    this.#sub = nc.subscribe(nodeAliveFilter(namespace), {
      callback: (_error, msg) => {
        const id = nodeIdOfAliveSubject(namespace, msg.subject);
        if (id === undefined) return;
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
   * True when `nodeId` was heard before and has been silent for longer than the gone threshold
   * (and not just after a stalled server answered). Routing steers away from such nodes; their
   * calls end only once the silence is confirmed (see the module comment).
   */
  isGone(nodeId: string, now = Date.now()): boolean {
    const seen = this.#lastSeen.get(nodeId);
    return seen !== undefined && now - seen > nodeGoneAfterMs && now - this.#serverWokeAt >= graceAfterStallMs;
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
    this.#statuses.stop?.(); // a QueuedIterator in nats.js
    try {
      this.#sub.unsubscribe();
    } catch {
      // the connection is already closed
    }
  }

  #check(): void {
    const now = Date.now();
    const pingLost = this.#pingSentAt !== undefined && now - this.#pingSentAt > pingGiveUpMs ? this.#pingSentAt : -Infinity;
    const pathBroken = Math.max(this.#disconnectedAt, pingLost);
    let unasked = false;
    for (const [nodeId, controller] of this.#watches) {
      if (!this.isGone(nodeId, now)) continue;
      const seen = this.#lastSeen.get(nodeId)!;
      // Gone when the path broke since it was heard, or when the server answered a PING sent
      // after its silence began and it is still silent a moment after (see the module comment).
      const asked = this.#answered.sentAt - seen > nodeGoneAfterMs;
      if (seen < pathBroken || (asked && now - this.#answered.at >= behindAnswerMs)) {
        this.#watches.delete(nodeId);
        controller.abort(new Error(`node ${nodeId} went silent`));
      } else if (!asked) unasked = true;
    }
    if (unasked && this.#pingSentAt === undefined) this.#ping(now);
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

  /** Asks the server for a PING's answer; one that comes late means the server (or the path to it) was stalled. */
  #ping(sentAt: number): void {
    this.#pingSentAt = sentAt;
    this.#nc.flush().then(
      () => {
        const at = Date.now();
        this.#pingSentAt = undefined;
        this.#answered = { sentAt, at };
        if (at - sentAt > lateAnswerMs) this.#serverWokeAt = at;
      },
      // Dropped (nats.js fails the PINGs in flight then) or closed: the disconnect decides.
      () => (this.#pingSentAt = undefined),
    );
  }
}
