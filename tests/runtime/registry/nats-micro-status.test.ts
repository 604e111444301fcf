/**
 * Asking every NATS service for its ping or stats collects a bounded amount: the gateway's
 * dashboard asks every second, and any client on the account can answer.
 */
import { describe, expect, it } from "bun:test";
import { maxServiceAnswerBytes, maxServiceAnswersBytes, natsMicroServiceStats, pingNatsMicroServices } from "../../../runtime/registry/nats-micro-status.ts";
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
    // The flood ends with this test: left answering, it filled the next test's collection bound
    // before that test's good answer arrived (a CI failure).
    await hostile.close();
    expect(pings.length).toBeGreaterThan(0);
    // An answer over the size of one is skipped, and no more than the bound is collected.
    expect(pings.some((p) => p.id === "flood-0")).toBe(false);
    expect(pings.length).toBeLessThan(answers);
    expect(pings.length * 20 * 1024).toBeLessThanOrEqual(maxServiceAnswersBytes + 64 * 1024);
  }, 30_000);
});

describe("NATS services status from a hostile responder", () => {
  it("keeps the other instances' answers when one answers with deep or wrong-typed values", async () => {
    const deep = JSON.parse(`${"[".repeat(10_000)}"x"${"]".repeat(10_000)}`);
    const encoder = new TextEncoder();
    const hostile = await openTestConnection(nats.url);
    const good = await openTestConnection(nats.url);
    const asker = await openTestConnection(nats.url);
    teardown(() => Promise.all([hostile.close(), good.close(), asker.close()]));
    hostile.nc.subscribe(servicesApiSubject("PING"), {
      callback: (_e, msg) => void msg.respond(encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.ping_response", name: deep, id: deep, version: deep, metadata: { a: deep } }))),
    });
    hostile.nc.subscribe(servicesApiSubject("STATS"), {
      callback: (_e, msg) => {
        const endpoint = { name: deep, subject: deep, num_requests: deep, num_errors: { a: deep }, last_error: deep, average_processing_time: deep, data: { p50_ms: deep } };
        msg.respond(encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.stats_response", name: deep, id: "rogue-1", version: "1", started: deep, endpoints: [endpoint, 7, null] })));
      },
    });
    good.nc.subscribe(servicesApiSubject("PING"), {
      callback: (_e, msg) => void msg.respond(encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.ping_response", name: "greeter", id: "greeter-1", version: "1.0.0", metadata: { zone: "a" } }))),
    });
    good.nc.subscribe(servicesApiSubject("STATS"), {
      callback: (_e, msg) => {
        const endpoint = { name: "SayHello", subject: "micro.srv.greeter.Greeter.SayHello", num_requests: 3, num_errors: 1, last_error: "", average_processing_time: 2e6, data: { p50_ms: 1.5 } };
        msg.respond(encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.stats_response", name: "greeter", id: "greeter-1", version: "1.0.0", started: "2024-01-01T00:00:00Z", endpoints: [endpoint] })));
      },
    });
    await Promise.all([hostile.nc.flush(), good.nc.flush()]);
    // Answers are collected for the whole wait: 2 s, so a machine busy with other tests still hears the good one.
    const pings = await pingNatsMicroServices(asker.nc, { waitMs: 2000 });
    expect(pings.find((p) => p.id === "greeter-1")).toMatchObject({ name: "greeter", version: "1.0.0", metadata: { zone: "a" } });
    // Whatever is kept of the other answer is of the promised types, and prints.
    expect(() => JSON.stringify(pings)).not.toThrow();
    for (const p of pings) for (const field of [p.name, p.id, p.version, ...Object.values(p.metadata)]) expect(typeof field).toBe("string");
    const stats = await natsMicroServiceStats(asker.nc, { waitMs: 2000 });
    expect(stats.find((s) => s.id === "greeter-1")?.endpoints).toEqual([
      { name: "SayHello", subject: "micro.srv.greeter.Greeter.SayHello", requests: 3, errors: 1, lastError: "", averageMs: 2, data: { p50_ms: 1.5 } },
    ]);
    expect(() => JSON.stringify(stats)).not.toThrow();
  }, 30_000);
});
