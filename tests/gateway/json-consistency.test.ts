/**
 * JSON is the same whichever way a service is reached: default values on request (CLI
 * `--emit-defaults`, gateway header, query or setting), and one clear message for the same
 * unknown field from the CLI and the gateway.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { createDiscovery, createNatsRegistry, defineService, type Registry } from "../../runtime/mod.ts";
import { micro } from "../support/cli.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";

const { nats, conn, teardown } = withNats();
let registry: Registry;
type Fetch = (path: string, init?: RequestInit) => Promise<Response>;
let gateway: Fetch;
let gatewayWithDefaults: Fetch;

// Answers an empty message for an empty name: a reply whose only field is at its default.
const quiet = defineService(Greeter, { name: "quiet" }, { sayHello: ({ name }) => ({ message: name }) });

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  const instance = await startRegistered(quiet, conn, registry);
  teardown(() => instance.stop());
  const discovery = createDiscovery({ registry });
  teardown(() => discovery.close());
  const app = createGateway({ transport: conn.transport, registry, discovery });
  const withDefaults = createGateway({ transport: conn.transport, registry, discovery, emitDefaults: true });
  gateway = (path, init) => Promise.resolve(app.fetch(new Request(`http://gw${path}`, init)));
  gatewayWithDefaults = (path, init) => Promise.resolve(withDefaults.fetch(new Request(`http://gw${path}`, init)));
});

const post = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
const rpc = { service: "quiet", endpoint: "Greeter.SayHello", request: { name: "" } };

describe("default values in JSON", () => {
  it("are left out unless asked for", async () => {
    expect(await (await gateway("/rpc", post(rpc))).json()).toEqual({});
    expect(await (await gateway("/quiet/greeter/say-hello", post({}))).json()).toEqual({});
    expect(JSON.parse((await micro(["call", "quiet", "Greeter.SayHello"], { NATS_URL: nats.url })).stdout)).toEqual({});
  });

  it("are emitted when the CLI, a gateway request or the gateway's setting asks", async () => {
    expect(JSON.parse((await micro(["call", "quiet", "Greeter.SayHello", "--emit-defaults"], { NATS_URL: nats.url })).stdout)).toEqual({ message: "" });
    expect(await (await gateway("/rpc", post(rpc, { "x-micro-emit-defaults": "1" }))).json()).toEqual({ message: "" });
    expect(await (await gateway("/quiet/greeter/say-hello?emit_defaults=true", post({}))).json()).toEqual({ message: "" });
    expect(await (await gatewayWithDefaults("/rpc", post(rpc))).json()).toEqual({ message: "" });
    // A request may still ask for the short form.
    expect(await (await gatewayWithDefaults("/rpc?emit_defaults=false", post(rpc))).json()).toEqual({});
  });

  it("refuses a wish that is neither yes nor no, naming it", async () => {
    const response = await gateway("/rpc", post(rpc, { "x-micro-emit-defaults": "maybe" }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { detail: string }).detail).toContain("X-Micro-Emit-Defaults");
  });
});

describe("unknown fields", () => {
  it("get the same clear message from the CLI and the gateway", async () => {
    const cli = await micro(["call", "quiet", "Greeter.SayHello", '{"nmae":"Ada"}'], { NATS_URL: nats.url });
    const viaRpc = (await (await gateway("/rpc", post({ ...rpc, request: { nmae: "Ada" } }))).json()) as { detail: string };
    const viaPath = (await (await gateway("/quiet/greeter/say-hello", post({ nmae: "Ada" }))).json()) as { detail: string };
    const flag = await micro(["call", "quiet", "Greeter.SayHello", "--nmae", "Ada"], { NATS_URL: nats.url });
    const message = 'greeter.v1.SayHelloRequest has no field "nmae" (fields: name)';
    expect(viaRpc.detail).toBe(message);
    expect(viaPath.detail).toBe(message);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(message);
    expect(flag.stderr).toContain(message);
  });
});
