/**
 * Services in any language: services written against the NATS services protocol by another
 * library (`@nats-io/services`, in a child process) are listed per instance beside jetmicro's
 * own of the same name, and callable by `micro call`, `/rpc` and path routes through the
 * subjects their `$SRV.INFO` announces; a pre-1.23 nats.go style INFO (no `type`) is kept.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../../gateway/app.ts";
import {
  createDiscovery,
  createNatsMicroDirectory,
  createNatsRegistry,
  listNatsMicroServices,
  type Registry,
} from "../../../runtime/mod.ts";
import greeter from "../../../services/greeter.ts";
import { micro } from "../../support/cli.ts";
import { withNats } from "../../support/nats.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { startRegistered } from "../../support/registered.ts";
import { spawnChild } from "../../support/subprocess.ts";

const { nats, conn, teardown } = withNats();
let registry: Registry;
let gateway: (path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  const instance = await startRegistered(greeter, conn, registry);
  teardown(() => instance.stop());
  const child = spawnChild([process.execPath, "tests/fixtures/nats-services/inventory.ts", nats.url]);
  teardown(async () => {
    child.process.kill("SIGKILL");
    await child.exited;
  });
  await child.waitFor(/ready/, 20_000);
  const discovery = createDiscovery({ registry });
  teardown(() => discovery.close());
  const app = createGateway({ transport: conn.transport, registry, discovery, natsMicro: createNatsMicroDirectory(conn.nc) });
  gateway = async (path, body) => {
    const response = await app.fetch(new Request(`http://gw${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) }));
    return { status: response.status, body: await response.json() };
  };
});

const env = () => ({ NATS_URL: nats.url });

describe("listing", () => {
  it("lists another library's instances per instance, beside jetmicro's service of the same name", async () => {
    const result = await micro(["services", "--output", "json"], env());
    expect(result.code).toBe(0);
    const rows = (JSON.parse(result.stdout) as Array<{ name: string; version: string; source: string; endpoints: string[] }>)
      .map((s) => `${s.name} ${s.version} ${s.source} ${s.endpoints.join(",")}`);
    expect(rows).toEqual([
      "greeter 1.0.0 registry Greeter.SayHello,Greeter.SayGoodbye",
      "greeter 2.0.0 nats-micro SayHello",
      "inventory 2.0.0 nats-micro Stock,Reserve",
      "legacy 0.1.0 nats-micro legacy.Ping",
    ]);
  });

  it("describes both greeters, each with its own nodes", async () => {
    const result = await micro(["describe", "greeter", "--output", "json"], env());
    expect(result.code).toBe(0);
    const versions = JSON.parse(result.stdout) as Array<{ version: string; endpoints: Array<{ name: string }> }>;
    expect(versions.map((v) => `${v.version} ${v.endpoints.map((e) => e.name).join(",")}`)).toEqual(["1.0.0 Greeter.SayHello,Greeter.SayGoodbye", "2.0.0 SayHello"]);
  });

  it("keeps an INFO answer without a type (nats.go before 1.23)", async () => {
    const legacy = await listNatsMicroServices(conn.nc, { name: "legacy", waitMs: 300 });
    expect(legacy.map((s) => [s.id, s.version, s.endpoints.map((e) => e.subject)])).toEqual([["legacy-1", "0.1.0", ["legacy.Ping"]]]);
  });
});

describe("micro call", () => {
  it("calls an endpoint on the subject its $SRV.INFO announces", async () => {
    const result = await micro(["call", "inventory", "Stock", '{"sku":"a1"}'], env());
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ sku: "a1", count: 7, by: "@nats-io/services" });
  });

  it("shows the other library's error and exits 1", async () => {
    const result = await micro(["call", "inventory", "Reserve", '{"count":9}'], env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("only 7 in stock, 9 asked");
  });

  it("reaches each greeter by its own endpoint names, and jetmicro's by the proto full name", async () => {
    const foreign = await micro(["call", "greeter", "SayHello", '{"name":"Ada"}'], env());
    expect(JSON.parse(foreign.stdout)).toEqual({ message: "Hello Ada from 2.0.0" });
    const own = await micro(["call", "greeter", "Greeter.SayHello", '{"name":"Ada"}'], env());
    expect(JSON.parse(own.stdout)).toEqual({ message: "Hello Ada" });
    const full = await micro(["call", "greeter", "greeter.v1.Greeter/SayHello", '{"name":"Ada"}'], env());
    expect(full.stderr).toBe("");
    expect(JSON.parse(full.stdout)).toEqual({ message: "Hello Ada" });
  });

  it("calls a pre-1.23 nats.go style service", async () => {
    const result = await micro(["call", "legacy", "legacy.Ping"], env());
    expect(JSON.parse(result.stdout)).toEqual({ pong: true });
  });
});

describe("gateway", () => {
  it("/rpc reaches an announced endpoint", async () => {
    expect(await gateway("/rpc", { service: "inventory", endpoint: "Stock", request: { sku: "b2" } })).toEqual({ status: 200, body: { sku: "b2", count: 7, by: "@nats-io/services" } });
  });

  it("a path route reaches an announced endpoint", async () => {
    expect(await gateway("/inventory/stock", { sku: "c3" })).toEqual({ status: 200, body: { sku: "c3", count: 7, by: "@nats-io/services" } });
    const refused = await gateway("/inventory/reserve", { count: 9 });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(String(refused.body.detail)).toContain("only 7 in stock");
  });

  it("a registered endpoint still goes to jetmicro's service, by its name or proto full name", async () => {
    expect(await gateway("/greeter/say-hello", { name: "Ada" })).toEqual({ status: 200, body: { message: "Hello Ada" } });
    expect(await gateway("/rpc", { service: "greeter", endpoint: "greeter.v1.Greeter/SayHello", request: { name: "Ada" } })).toEqual({ status: 200, body: { message: "Hello Ada" } });
    expect(await gateway("/rpc", { service: "greeter", endpoint: "SayHello", request: { name: "Ada" } })).toEqual({ status: 200, body: { message: "Hello Ada from 2.0.0" } });
  });

  it("never sends a caller's request where a service announces a subject outside its own", async () => {
    // A service confined by NATS to its own subjects announces others' in its $SRV.INFO: the
    // gateway, publishing with its own rights, must not become its deputy.
    const rogue = await openTestConnection(nats.url);
    teardown(() => rogue.close());
    const announced: Record<string, string> = {
      Forge: "micro.events.audit.user.bob.login",
      Other: "micro.srv.greeter.Greeter.SayHello",
      Node: "micro.node.greeter.x.Greeter.SayHello",
      Drop: "$JS.API.STREAM.DELETE.MICRO_EVENTS",
      Reply: "_INBOX.stolen",
      Elsewhere: "tenant.srv.rogue.Rogue.Own",
      CrossService: "tenant.srv.billing.Billing.Charge",
      CrossEvent: "acme.prod.events.audit.user.bob.login",
    };
    const info = JSON.stringify({
      type: "io.nats.micro.v1.info_response", name: "rogue", id: "rogue-1", version: "1.0.0", description: "", metadata: {},
      endpoints: [
        ...Object.entries(announced).map(([name, subject]) => ({ name, subject })),
        { name: "Mine", subject: "rogue.Mine" },
        // A subject of its own under the namespace's first token, not shaped like jetmicro's.
        { name: "Stock", subject: "micro.rogue.Stock" },
      ],
    });
    for (const subject of ["$SRV.INFO", "$SRV.INFO.rogue"]) rogue.nc.subscribe(subject, { callback: (_e, msg) => void msg.respond(info) });
    for (const subject of ["rogue.Mine", "micro.rogue.Stock"]) rogue.nc.subscribe(subject, { callback: (_e, msg) => void msg.respond(JSON.stringify({ mine: true })) });
    const reached: string[] = [];
    for (const subject of [...Object.values(announced).filter((s) => !s.startsWith("$")), "$JS.API.STREAM.DELETE.>"]) {
      rogue.nc.subscribe(subject, { callback: (_e, msg) => void reached.push(msg.subject) });
    }
    await rogue.nc.flush();
    // Its own subject is called as before.
    expect(await gateway("/rpc", { service: "rogue", endpoint: "Mine" })).toEqual({ status: 200, body: { mine: true } });
    expect(await gateway("/rpc", { service: "rogue", endpoint: "Stock" })).toEqual({ status: 200, body: { mine: true } });
    for (const endpoint of Object.keys(announced)) {
      const answer = await gateway("/rpc", { service: "rogue", endpoint });
      expect([endpoint, answer.status]).toEqual([endpoint, 404]);
    }
    await conn.nc.flush();
    await rogue.nc.flush();
    expect(reached).toEqual([]);
  });

  it("an endpoint nobody announces is a 404 naming it", async () => {
    const missing = await gateway("/rpc", { service: "inventory", endpoint: "Restock" });
    expect(missing.status).toBe(404);
    expect(String(missing.body.detail)).toContain("Restock");
  });
});
