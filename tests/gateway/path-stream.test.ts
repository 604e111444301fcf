/** A server-streaming endpoint on its path route streams as NDJSON or SSE by `Accept`. */
import { beforeAll, describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { createDiscovery, createNatsRegistry, type Registry } from "../../runtime/mod.ts";
import counter from "../../services/counter.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { eventually } from "../support/wait.ts";

const { conn, teardown } = withNats();
let registry: Registry;
let withRegistry: (path: string, init?: RequestInit) => Promise<Response>;
let plain: (path: string, init?: RequestInit) => Promise<Response>;

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  const instance = await startRegistered(counter, conn, registry);
  teardown(() => instance.stop());
  const discovery = createDiscovery({ registry });
  teardown(() => discovery.close());
  const app = createGateway({ transport: conn.transport, registry, discovery });
  const bare = createGateway({ transport: conn.transport });
  withRegistry = (path, init) => Promise.resolve(app.fetch(new Request(`http://gw${path}`, init)));
  plain = (path, init) => Promise.resolve(bare.fetch(new Request(`http://gw${path}`, init)));
});

const count = (headers: Record<string, string> = {}): RequestInit => ({ method: "POST", body: JSON.stringify({ to: 3 }), headers: { "content-type": "application/json", ...headers } });

describe("server streams on path routes", () => {
  it("streams NDJSON when the registry says the endpoint streams", async () => {
    // The gateway learns from its registry watch that Counter.Count streams; until then it is a unary call.
    const response = await eventually(() => withRegistry("/counter/count", count()), (r) => r.status === 200, { what: "the gateway's index to know Counter.Count streams" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    expect((await response.text()).trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("streams Server-Sent Events for Accept: text/event-stream", async () => {
    const response = await withRegistry("/counter/count", count({ accept: "text/event-stream" }));
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const events = (await response.text()).trim().split("\n\n");
    expect(events).toEqual([1, 2, 3].map((n) => `event: message\ndata: {"n":${n}}`));
  });

  it("streams by Accept without a registry too", async () => {
    const response = await plain("/counter/count", count({ accept: "application/x-ndjson" }));
    expect((await response.text()).trim().split("\n").map((l) => JSON.parse(l))).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it("ends the stream with an error line when the request is bad", async () => {
    const response = await withRegistry("/counter/count", { method: "POST", body: '{"nope":1}', headers: { "content-type": "application/json" } });
    const lines = (await response.text()).trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0].error.code).toBe("invalid_argument");
    expect(lines[0].error.detail).toContain('"nope"');
  });
});
