/**
 * Listing the instances that answer `$SRV.INFO`: any client on the account may answer, so one
 * answer of any shape or size must not spoil the listing of the others (`micro services`).
 */
import { describe, expect, it } from "bun:test";
import { listNatsMicroServices } from "../../../runtime/registry/nats-micro-services.ts";
import { maxServiceAnswerBytes, maxServiceAnswersBytes } from "../../../runtime/registry/nats-micro-status.ts";
import { servicesApiSubject } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";

const { nats, teardown } = withNats();
const encoder = new TextEncoder();

describe("NATS services listing from a hostile responder", () => {
  it("keeps the other instances when one answers with deep or wrong-typed values", async () => {
    const deep = JSON.parse(`${"[".repeat(10_000)}"x"${"]".repeat(10_000)}`);
    const hostile = await openTestConnection(nats.url);
    const good = await openTestConnection(nats.url);
    const asker = await openTestConnection(nats.url);
    teardown(() => Promise.all([hostile.close(), good.close(), asker.close()]));
    hostile.nc.subscribe(servicesApiSubject("INFO"), {
      callback: (_e, msg) => {
        const info = { type: "io.nats.micro.v1.info_response", name: "rogue", id: "rogue-1", version: deep, description: deep, metadata: { a: deep } };
        msg.respond(encoder.encode(JSON.stringify({ ...info, endpoints: [{ name: deep, subject: deep, queue_group: "q" }] })));
        msg.respond(encoder.encode(JSON.stringify({ ...info, id: "rogue-2", version: "1", endpoints: undefined, subjects: [deep] })));
      },
    });
    good.nc.subscribe(servicesApiSubject("INFO"), {
      callback: (_e, msg) => {
        const info = { type: "io.nats.micro.v1.info_response", name: "inventory", id: "inventory-1", version: "2.0.0", description: "", metadata: { zone: "a" } };
        msg.respond(encoder.encode(JSON.stringify({ ...info, endpoints: [{ name: "Stock", subject: "inventory.Stock", queue_group: "q" }] })));
      },
    });
    await Promise.all([hostile.nc.flush(), good.nc.flush()]);
    const listed = await listNatsMicroServices(asker.nc, { waitMs: 500 });
    expect(listed.find((s) => s.id === "inventory-1")).toEqual({
      name: "inventory", id: "inventory-1", version: "2.0.0", description: "", metadata: { zone: "a" },
      endpoints: [{ name: "Stock", subject: "inventory.Stock", queueGroup: "q" }],
    });
    expect(() => JSON.stringify(listed)).not.toThrow();
    for (const s of listed) {
      for (const field of [s.name, s.id, s.version, s.description, ...Object.values(s.metadata), ...s.endpoints.flatMap((e) => [e.name, e.subject])]) expect(typeof field).toBe("string");
    }
  }, 30_000);
});

describe("NATS services listing from a flooding responder", () => {
  it("collects a bounded amount of answers", async () => {
    const hostile = await openTestConnection(nats.url);
    const asker = await openTestConnection(nats.url);
    teardown(() => Promise.all([hostile.close(), asker.close()]));
    const answer = (id: number, padding: number) =>
      encoder.encode(JSON.stringify({ type: "io.nats.micro.v1.info_response", name: "flood", id: `flood-${id}`, version: "1.0.0", metadata: { pad: "x".repeat(padding) }, endpoints: [] }));
    const big = answer(0, maxServiceAnswerBytes);
    const answers = Math.ceil((2 * maxServiceAnswersBytes) / (20 * 1024));
    hostile.nc.subscribe(servicesApiSubject("INFO"), {
      callback: (_e, msg) => {
        msg.respond(big);
        for (let i = 1; i <= answers; i++) msg.respond(answer(i, 20 * 1024));
      },
    });
    await hostile.nc.flush();
    const listed = await listNatsMicroServices(asker.nc, { waitMs: 2000 });
    expect(listed.length).toBeGreaterThan(0);
    // An answer over the size of one is skipped, and no more than the bound is collected.
    expect(listed.some((s) => s.id === "flood-0")).toBe(false);
    expect(listed.length * 20 * 1024).toBeLessThanOrEqual(maxServiceAnswersBytes + 64 * 1024);
  }, 30_000);
});
