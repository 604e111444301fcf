import { describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { NodeLiveness, pingGiveUpMs } from "../../../runtime/client/node-liveness.ts";
import { nodeAliveSubject, nodeGoneAfterMs } from "../../../runtime/protocol/mod.ts";
import { startLivenessHeartbeat } from "../../../runtime/server/liveness-heartbeat.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

describe("node liveness", () => {
  const { nats, conn, teardown } = withNats();

  it("hears a node only on its own service's heartbeat subject, so a confined service cannot keep another's node alive", async () => {
    const liveness = new NodeLiveness(conn.nc, "micro");
    teardown(() => liveness.close());
    await conn.nc.flush();
    const victim = "greeter-AAAAAAAAAAAAAAAAAAAAAA";
    // Another service's user may publish under micro.alive.orders.> only: it names greeter's node there.
    conn.nc.publish(nodeAliveSubject("micro", "orders", victim));
    const own = "orders-BBBBBBBBBBBBBBBBBBBBBB";
    conn.nc.publish(nodeAliveSubject("micro", "orders", own));
    await until(() => liveness.lastHeard(own) !== undefined, 5000);
    expect(liveness.lastHeard(victim)).toBeUndefined();
    // greeter's own heartbeat is heard.
    conn.nc.publish(nodeAliveSubject("micro", "greeter", victim));
    await until(() => liveness.lastHeard(victim) !== undefined, 5000);
  });

  /**
   * A caller's liveness on `conn`, with nodes beating on `nc` and calls in flight on each once
   * it has heard them all; `stop(id)` ends one node's heartbeat (it dies).
   */
  async function watching(nc: NatsConnection, ids: string[]) {
    const liveness = new NodeLiveness(conn.nc, "micro");
    teardown(() => liveness.close());
    const stops = new Map(ids.map((id) => [id, startLivenessHeartbeat(nc, "micro", "greeter", id)]));
    teardown(() => stops.forEach((stop) => stop()));
    await until(() => ids.every((id) => liveness.lastHeard(id) !== undefined), 5000);
    return { liveness, calls: ids.map((id) => liveness.signalFor(id)), stop: (id: string) => stops.get(id)!() };
  }

  /** Nodes on a connection of their own, as services in other processes are. */
  async function otherConnection(): Promise<NatsConnection> {
    const nodes = await openTestConnection(nats.url);
    teardown(() => nodes.close());
    return nodes.nc;
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("a stall of this whole process longer than the gone threshold fails no call of a live node, and a dead one is still found", async () => {
    // As in `micro run`: the services' heartbeats and the callers' liveness share one process and connection.
    const [live, dead] = ["greeter-CCCCCCCCCCCCCCCCCCCCCC", "greeter-DDDDDDDDDDDDDDDDDDDDDD"];
    const { liveness, calls: [liveCalls, deadCalls], stop } = await watching(conn.nc, [live, dead]);
    stop(dead);
    // The process stalls past the threshold (a long GC pause, a paused VM): no timer runs, no socket is read.
    const resumeAt = Date.now() + nodeGoneAfterMs + 400;
    while (Date.now() < resumeAt) {
      // blocked
    }
    await until(() => deadCalls!.aborted, 5000);
    expect(liveCalls!.aborted).toBe(false);
    // And it stays alive past another threshold's worth of running.
    await sleep(nodeGoneAfterMs + 250);
    expect(liveCalls!.aborted).toBe(false);
    expect(liveness.isGone(live)).toBe(false);
    expect(liveness.isGone(dead)).toBe(true);
  });

  it("a NATS server paused past the gone threshold fails no call of a live node, and a dead one is still found once it answers", async () => {
    const dead = "greeter-FFFFFFFFFFFFFFFFFFFFFF";
    const { calls: [liveCalls, deadCalls], stop } = await watching(await otherConnection(), ["greeter-EEEEEEEEEEEEEEEEEEEEEE", dead]);
    stop(dead);
    process.kill(nats.pid, "SIGSTOP");
    try {
      await sleep(nodeGoneAfterMs + 750);
      // Silent past the threshold, but the server has not answered since: nothing is judged.
      expect([liveCalls!.aborted, deadCalls!.aborted]).toEqual([false, false]);
    } finally {
      process.kill(nats.pid, "SIGCONT");
    }
    await until(() => deadCalls!.aborted, 5000);
    expect(liveCalls!.aborted).toBe(false);
    await sleep(nodeGoneAfterMs + 250);
    expect(liveCalls!.aborted).toBe(false);
  });

  it("a NATS server that answers no PING for the give-up time counts as a broken path: the calls end instead of waiting out their deadline", async () => {
    // Indistinguishable from a half-open connection (a server host gone without a word).
    const { calls: [calls] } = await watching(await otherConnection(), ["greeter-GGGGGGGGGGGGGGGGGGGGGG"]);
    const pausedAt = Date.now();
    process.kill(nats.pid, "SIGSTOP");
    try {
      await until(() => calls!.aborted, nodeGoneAfterMs + pingGiveUpMs + 2000);
      // Not before the give-up: the server may only have been slow until then.
      expect(Date.now() - pausedAt).toBeGreaterThan(nodeGoneAfterMs + pingGiveUpMs - 300);
    } finally {
      process.kill(nats.pid, "SIGCONT");
    }
  });
});
