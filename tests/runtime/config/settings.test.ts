import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { connectClient } from "../../../runtime/client/connect.ts";
import { loadSettings, MicroConfig, natsUrlOf, readSettings } from "../../../runtime/config/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { runnerConfigFromEnv } from "../../../runtime/runner/config.ts";
import { startTestNats } from "../../support/nats.ts";

const dir = mkdtempSync(join(tmpdir(), "jetmicro-settings-"));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("settings", () => {
  it("take flags over the environment over the config file over defaults", () => {
    const path = file("precedence.json", { natsUrl: "nats://file:4222", namespace: "from.file", gatewayPort: 9000, drainTimeoutMs: 42 });
    const env = { NATS_URL: "nats://env:4222", MICRO_NAMESPACE: "from.env" };
    const s = readSettings({ flags: { NATS_URL: "nats://flag:4222" }, env, configFile: path });
    expect([s.natsUrl, s.namespace, s.gatewayPort, s.drainTimeoutMs, s.registryTtlMs]).toEqual(["nats://flag:4222", "from.env", 9000, 42, 15_000]);
    expect(readSettings({ env: {}, configFile: path }).natsUrl).toBe("nats://file:4222");
    expect(readSettings({ env: {} }).natsUrl).toBeUndefined();
  });

  it("count an empty variable as unset, so an empty NATS_URL means the local server everywhere", () => {
    const path = file("empty.json", { natsUrl: "nats://file:4222" });
    expect(readSettings({ env: { NATS_URL: "", MICRO_NAMESPACE: "" } })).toMatchObject({ natsUrl: undefined, namespace: "micro" });
    expect(readSettings({ env: { NATS_URL: "" }, configFile: path }).natsUrl).toBe("nats://file:4222");
    expect(natsUrlOf(readSettings({ env: { NATS_URL: "", MICRO_NATS_PORT: "4333" } }))).toBe("nats://127.0.0.1:4333");
    // The exception: an empty header allow list forwards nothing, unset forwards the gateway's default.
    expect(readSettings({ env: { MICRO_GATEWAY_FORWARD_HEADERS: "" } }).gatewayForwardHeaders).toEqual([]);
    expect(readSettings({ env: {} }).gatewayForwardHeaders).toBeUndefined();
  });

  it("name the variable, or the config file key, that is wrong", () => {
    expect(() => readSettings({ env: { MICRO_REGISTRY_TTL_MS: "soon" } })).toThrow('MICRO_REGISTRY_TTL_MS must be a whole number >= 1000, got "soon"');
    const path = file("bad-value.json", { registryTtlMs: 5 });
    expect(() => readSettings({ env: {}, configFile: path })).toThrow(`MICRO_REGISTRY_TTL_MS ("registryTtlMs" in ${path}) must be a whole number >= 1000, got "5"`);
    expect(() => readSettings({ env: {}, configFile: file("bad-key.json", { colour: "red" }) })).toThrow('unknown key "colour"');
    expect(() => readSettings({ env: {}, configFile: file("bad-type.json", { natsUrl: 4222 }) })).toThrow('"natsUrl" must be a non-empty string');
    expect(() => readSettings({ env: {}, configFile: join(dir, "nope.json") })).toThrow("nope.json: no such file");
    expect(() => readSettings({ env: { MICRO_NAMESPACE: "a b" } })).toThrow('namespace "a b"');
  });

  it("read interceptor modules from MICRO_INTERCEPTORS or the config file, relative to the file", () => {
    expect(readSettings({ env: { MICRO_INTERCEPTORS: "./a.ts, /abs/b.ts" } }).interceptorModules).toEqual(["./a.ts", "/abs/b.ts"]);
    const path = file("conf/micro.config.json", { interceptors: ["./log.ts", "/abs/auth.ts"] });
    expect(readSettings({ env: {}, configFile: path }).interceptorModules).toEqual([join(dir, "conf/log.ts"), "/abs/auth.ts"]);
    expect(() => readSettings({ env: {}, configFile: file("bad-list.json", { interceptors: "./log.ts" }) })).toThrow('"interceptors" must be an array of strings');
  });

  it("are one service with a layer, failing with invalid_argument", async () => {
    const path = file("layer.json", { namespace: "acme" });
    const namespace = await Effect.runPromise(MicroConfig.useSync((s) => s.namespace).pipe(Effect.provide(MicroConfig.layerFrom({ env: {}, configFile: path }))));
    expect(namespace).toBe("acme");
    const error = await Effect.runPromise(Effect.flip(loadSettings({ env: { MICRO_GATEWAY_PORT: "eighty" } })));
    expect(error.code).toBe("invalid_argument");
  });
});

describe("an empty NATS_URL", () => {
  let nats: NatsServerProcess;
  const saved = { NATS_URL: process.env.NATS_URL, MICRO_NATS_PORT: process.env.MICRO_NATS_PORT };
  beforeAll(async () => {
    nats = await startTestNats();
  });
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
    await nats.stop();
  });

  it("means the local server to connectClient, as to the runner", async () => {
    process.env.NATS_URL = "";
    process.env.MICRO_NATS_PORT = new URL(nats.url.replace("nats:", "http:")).port;
    expect(runnerConfigFromEnv().natsUrl).toBeUndefined();
    const micro = await connectClient();
    try {
      expect(micro.nc.isClosed()).toBe(false);
      expect(micro.nc.getServer()).toContain(`:${process.env.MICRO_NATS_PORT}`);
    } finally {
      await micro.close();
    }
  });
});
