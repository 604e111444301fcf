/**
 * Asking every NATS service for its ping or stats collects a bounded amount: the gateway's
 * dashboard asks every second, and any client on the account can answer.
 */
import { describe, expect, it } from "bun:test";
import { maxServiceAnswerBytes, maxServiceAnswersBytes, pingNatsMicroServices } from "../../../runtime/registry/nats-micro-status.ts";
import { servicesApiSubject } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";

const { nats, teardown } = withNats();

describe("NATS services status", () => {
  it("collects a bounded amount of answers from a responder that floods them", async () => {
    const hostile = await openTestConnection(nats.url);
    teardown(() => hostile.close());
    const encoder = new TextEncoder();
    const answer = (id: number, padding: number) => encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.ping_response", name: "flood", id: `flood-${id}`, version: "1.0.0", metadata: { pad: "x".repeat(padding) } }));
    const big = answer(0, maxServiceAnswerBytes);
    const answers = Math.ceil((2 * maxServiceAnswersBytes) / (20 * 1024));
    hostile.nc.subscribe(servicesApiSubject("PING"), {
      callback: (_e, msg) => {
        msg.respond(big);
        for (let i = 1; i <= answers; i++) msg.respond(answer(i, 20 * 1024));
      },
    });
    await hostile.nc.flush();
    const pings = await pingNatsMicroServices((await openTestConnection(nats.url).then((c) => (teardown(() => c.close()), c))).nc, { waitMs: 2000 });
    expect(pings.length).toBeGreaterThan(0);
    // An answer over the size of one is skipped, and no more than the bound is collected.
    expect(pings.some((p) => p.id === "flood-0")).toBe(false);
    expect(pings.length).toBeLessThan(answers);
    expect(pings.length * 20 * 1024).toBeLessThanOrEqual(maxServiceAnswersBytes + 64 * 1024);
  }, 30_000);
});
