import { beforeAll, describe, expect, it } from "bun:test";
import { Kvm } from "@nats-io/kv";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { createClient } from "../../../runtime/mod.ts";
import { routeRulesKey } from "../../../runtime/protocol/mod.ts";
import { withNats } from "../../support/nats.ts";
import { eventually } from "../../support/wait.ts";
import { ghostNode, type OperatorFixture, startOperatorFixture } from "./operator-fixture.ts";

const { conn, teardown } = withNats();
let fixture: OperatorFixture;
let app: ReturnType<typeof createGateway>;

beforeAll(async () => {
  fixture = await startOperatorFixture(conn.nc, conn.transport);
  teardown(() => fixture.stop());
  app = createGateway({ transport: conn.transport, registry: fixture.registry, broker: fixture.broker, operator: fixture.operator });
});

const get = (path: string, headers: Record<string, string> = {}) => app.fetch(new Request(`http://gw/dashboard/api/${path}`, { headers }));
const post = (path: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
  app.fetch(new Request(`http://gw/dashboard/api/${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }));

interface Node { service: string; node: string; status: string; pingMs: number | null; endpoints: Array<{ name: string; requests: number; errors: number; averageMs: number; p50Ms?: number; mailboxDepth?: number }> }

async function nodes(): Promise<Node[]> {
  const res = await get("nodes");
  expect(res.status).toBe(200);
  return ((await res.json()) as { nodes: Node[] }).nodes;
}

/** What `micro_routes` holds for greeter, read from the bucket itself. */
async function storedRule(): Promise<unknown> {
  const kv = await new Kvm(conn.nc).open("micro_routes");
  const entry = await kv.get(routeRulesKey("micro", "greeter"));
  return entry === null || entry.operation !== "PUT" ? null : entry.json();
}

describe("GET /dashboard/api/nodes", () => {
  it("shows each node's health and its endpoints' exact call counts", async () => {
    const client = createClient(Greeter, conn.transport);
    for (const name of ["a", "b", "c"]) await client.sayHello({ name });
    await client.sayHello({ name: "" }).catch(() => undefined);
    const seen = await eventually(nodes, (list) => list.some((n) => n.node === fixture.greeter.nodeId && n.endpoints.find((e) => e.name === "Greeter.SayHello")?.requests === 4), { what: "4 SayHello calls in the stats" });
    const live = seen.find((n) => n.node === fixture.greeter.nodeId)!;
    expect(live).toMatchObject({ service: "greeter", status: "ok" });
    expect(live.pingMs).toBeGreaterThanOrEqual(0);
    const sayHello = live.endpoints.find((e) => e.name === "Greeter.SayHello")!;
    expect(sayHello.errors).toBe(1);
    expect(typeof sayHello.p50Ms).toBe("number");
    expect(sayHello.mailboxDepth).toBe(0);
    // Registered, but never answering: shown as such, not left out.
    expect(seen.find((n) => n.node === ghostNode)).toMatchObject({ service: "greeter", status: "no answer", pingMs: null, endpoints: [] });
  });
});

describe("dead letters and events", () => {
  it("lists a failing handler's dead letters, shows one, counts them per service, and redrives them", async () => {
    await fixture.publishInvoices(1, 2);
    const listed = await eventually(async () => (await (await get("dead-letters/billing")).json()) as { letters: Array<Record<string, unknown>> }, (r) => r.letters.length === 2, { what: "two dead letters" });
    expect(listed.letters.map((l) => [l.topic, l.deliveries, l.error, l.user])).toEqual([
      ["invoice.created", 2, "tax service down", "u1"],
      ["invoice.created", 2, "tax service down", "u2"],
    ]);
    expect(listed.letters.every((l) => typeof l.time === "number" && l.data === undefined)).toBe(true);
    const limited = (await (await get("dead-letters/billing?limit=1")).json()) as { letters: unknown[] };
    expect(limited.letters).toHaveLength(1);

    const seq = listed.letters[1]!.deadLetterSequence as number;
    const one = await get(`dead-letters/billing/${seq}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ deadLetterSequence: seq, topic: "invoice.created", user: "u2", data: { invoice: 2 }, error: "tax service down" });
    expect((await get(`dead-letters/billing/${seq + 1000}`)).status).toBe(404);
    expect((await get(`dead-letters/nobody/${seq}`)).status).toBe(404);
    // An unknown operator route is the dashboard's 404, never a call to a service named "dashboard".
    const unknown = await get("no-such-route");
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain("no dashboard route");

    const overview = (await (await get("events")).json()) as { topics: unknown[]; consumers: Array<{ name: string; filter: string; pending: number }>; deadLetters: unknown[] };
    expect(overview.topics).toEqual([{ topic: "invoice.created", messages: 2 }]);
    expect(overview.consumers.find((c) => c.name.startsWith("billing_"))).toMatchObject({ filter: "invoice.created", pending: 0 });
    expect(overview.deadLetters).toEqual([{ service: "billing", letters: 2 }]);

    fixture.heal();
    const redriven = await post("dead-letters/billing/redrive", {});
    expect(redriven.status).toBe(200);
    expect(await redriven.json()).toEqual({ service: "billing", redriven: 2 });
    await eventually(() => [...fixture.handled].sort(), (h) => h.length === 2 && h[0] === "u1" && h[1] === "u2", { what: "billing handles both redriven events" });
    expect(((await (await get("dead-letters/billing")).json()) as { letters: unknown[] }).letters).toEqual([]);
    expect(await (await post("dead-letters/billing/redrive", {})).json()).toEqual({ service: "billing", redriven: 0 });
  });
});

describe("traffic weights", () => {
  it("shows and changes a service's weights in micro_routes, refusing versions not running unless forced", async () => {
    expect(await (await get("weights")).json()).toEqual({ services: [{ service: "greeter", weights: null, running: ["1.0.0"] }] });
    const set = await post("weights/greeter", { weights: { "1.0.0": 100 } });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ service: "greeter", weights: { "1.0.0": 100 }, running: ["1.0.0"] });
    expect(await storedRule()).toEqual({ weights: { "1.0.0": 100 } });

    const refused = await post("weights/greeter", { weights: { "1.0.0": 90, "2.0.0": 10 } });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { code: string; detail: string })).toMatchObject({ code: "failed_precondition", detail: expect.stringContaining("2.0.0 of greeter does not run (running: 1.0.0)") });
    expect(await storedRule()).toEqual({ weights: { "1.0.0": 100 } });
    expect((await post("weights/greeterr", { weights: { "1.0.0": 100 } })).status).toBe(400);

    expect((await post("weights/greeter", { weights: { "1.0.0": 90, "2.0.0": 10 }, force: true })).status).toBe(200);
    expect(await storedRule()).toEqual({ weights: { "1.0.0": 90, "2.0.0": 10 } });
    await eventually(async () => (await (await get("weights")).json()) as { services: Array<{ weights: unknown }> }, (r) => JSON.stringify(r.services[0]?.weights) === '{"1.0.0":90,"2.0.0":10}', { what: "the rules' copy to follow" });

    expect((await post("weights/greeter", { weights: null })).status).toBe(200);
    expect(await storedRule()).toBeNull();
  });
});

describe("bad input", () => {
  it("answers 400 naming the bad field, and 415 for a write without a JSON content type", async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ["weights/greeter", { weights: { "1.0.0": 101 } }, /weight of 1\.0\.0 must be a whole number from 0 to 100, got 101/],
      ["weights/greeter", { weights: { "1.0.0": 1.5 } }, /whole number from 0 to 100, got 1\.5/],
      ["weights/greeter", { weights: { "1.0.0": "90" } }, /whole number from 0 to 100, got "90"/],
      ["weights/greeter", { weights: { "1.0.0": -1 } }, /whole number from 0 to 100/],
      ["weights/greeter", { weights: { "1.0.0": 0 } }, /at least one version needs a weight above 0/],
      ["weights/greeter", { weights: {} }, /names no version/],
      ["weights/greeter", { weights: [1] }, /weights must be an object/],
      ["weights/greeter", {}, /weights is required/],
      ["weights/greeter", { weights: null, extra: 1 }, /unknown field "extra"/],
      ["weights/greeter", { weights: null, force: "yes" }, /force must be true or false/],
      ["weights/greeter", { weights: { "1.0.0 <b>": 1 } }, /version "1\.0\.0 <b>" may hold letters/],
      ["weights/greeter", { weights: { ["v".repeat(65)]: 1 } }, /longer than 64 characters/],
      ["weights/greeter", { weights: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`1.0.${i}`, 1])) }, /names 33 versions; at most 32/],
      ["weights/greeter", "[1,", /the body is not valid JSON/],
      ["weights/greeter", "[[[[[[1]]]]]]", /nested more than 4 levels/],
      ["weights/bad.name", { weights: null }, /service "bad\.name" must be one NATS subject token/],
      [`weights/${"s".repeat(300)}`, { weights: null }, /longer than/],
      ["dead-letters/bad*name/redrive", {}, /service "bad\*name" must be one NATS subject token/],
    ];
    for (const [path, body, detail] of cases) {
      const res = await post(path, body);
      expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 });
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
    }
    for (const [path, detail] of [
      ["dead-letters/billing?limit=0", /limit must be a whole number from 1 to 1000, got "0"/],
      ["dead-letters/billing?limit=1001", /limit must be/],
      ["dead-letters/billing?limit=abc", /limit must be/],
      ["dead-letters/billing/0", /sequence must be a whole number from 1/],
      ["dead-letters/billing/1e3", /sequence must be/],
      ["dead-letters/bad.name", /must be one NATS subject token/],
    ] as const) {
      const res = await get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(((await res.json()) as { detail: string }).detail).toMatch(detail);
    }
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded"]) {
      const headers: Record<string, string> = type === undefined ? {} : { "content-type": type };
      for (const path of ["weights/greeter", "dead-letters/billing/redrive"]) {
        const res = await post(path, '{"weights": null}', headers);
        expect({ path, type, status: res.status }).toEqual({ path, type, status: 415 });
      }
    }
    // Writes are POSTs only.
    expect((await app.fetch(new Request("http://gw/dashboard/api/dead-letters/billing/redrive"))).status).not.toBe(200);
    expect(await storedRule()).toBeNull();
  });
});

describe("authorization", () => {
  it("needs the dashboard rule for every operator route (403 without, 401 anonymous)", async () => {
    const secured = createGateway({
      transport: conn.transport, registry: fixture.registry, broker: fixture.broker, operator: fixture.operator,
      auth: { apiKeys: { "k-ops": "ops", "k-dev": "dev", "k-viewer": "viewer" }, allow: { ops: ["dashboard"], dev: ["greeter", "events/*"], viewer: ["dashboard/nodes", "dashboard/page"] } },
    });
    const ask = (method: string, path: string, key?: string) => secured.fetch(new Request(`http://gw/dashboard/api/${path}`, {
      method, headers: { "content-type": "application/json", ...(key === undefined ? {} : { "x-api-key": key }) }, ...(method === "POST" ? { body: "{}" } : {}),
    }));
    const routes: Array<[string, string]> = [
      ["GET", "nodes"], ["GET", "weights"], ["POST", "weights/greeter"], ["GET", "events"],
      ["GET", "dead-letters/billing"], ["GET", "dead-letters/billing/1"], ["POST", "dead-letters/billing/redrive"],
    ];
    for (const [method, path] of routes) {
      expect({ method, path, status: (await ask(method, path, "k-dev")).status }).toEqual({ method, path, status: 403 });
      expect({ method, path, status: (await ask(method, path)).status }).toEqual({ method, path, status: 401 });
      // Allowed through: whatever it answers (400 for the empty weights body, 404 for letter 1), never 401/403.
      expect([401, 403]).not.toContain((await ask(method, path, "k-ops")).status);
    }
    // A narrower rule grants just what it names.
    expect((await ask("GET", "nodes", "k-viewer")).status).toBe(200);
    expect((await ask("POST", "dead-letters/billing/redrive", "k-viewer")).status).toBe(403);
    expect((await ask("POST", "weights/greeter", "k-viewer")).status).toBe(403);
  });
});
