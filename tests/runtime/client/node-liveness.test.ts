import { describe, expect, it } from "bun:test";
import { NodeLiveness } from "../../../runtime/client/node-liveness.ts";
import { nodeAliveSubject } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

describe("node liveness", () => {
  const { conn, teardown } = withNats();

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
});
