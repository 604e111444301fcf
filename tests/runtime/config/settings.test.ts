import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { connectClient } from "../../../runtime/client/connect.ts";
import { loadSettings, MicroConfig, natsUrlOf, readSettings } from "../../../runtime/config/mod.ts";
import { settingTable } from "../../../runtime/config/settings.ts";
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
    expect(() => readSettings({ env: { MICRO_REGISTRY_TTL_MS: "soon" } })).toThrow('MICRO_REGISTRY_TTL_MS must be a whole number from 1000 to 2147483647, got "soon"');
    const path = file("bad-value.json", { registryTtlMs: 5 });
    expect(() => readSettings({ env: {}, configFile: path })).toThrow(`MICRO_REGISTRY_TTL_MS ("registryTtlMs" in ${path}) must be a whole number from 1000 to 2147483647, got "5"`);
    expect(() => readSettings({ env: {}, configFile: file("bad-key.json", { colour: "red" }) })).toThrow('unknown key "colour"');
    expect(() => readSettings({ env: {}, configFile: file("bad-type.json", { natsUrl: 4222 }) })).toThrow('"natsUrl" must be a non-empty string');
    expect(() => readSettings({ env: {}, configFile: join(dir, "nope.json") })).toThrow("nope.json: no such file");
    expect(() => readSettings({ env: { MICRO_NAMESPACE: "a b" } })).toThrow('namespace "a b"');
    // Set on a plain object, "__proto__" was dropped without a word.
    expect(() => readSettings({ env: { MICRO_NODE_METADATA: "zone=a,__proto__=x" } })).toThrow('MICRO_NODE_METADATA: "__proto__" cannot be a key');
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

describe("a cluster's NATS_URL", () => {
  it("is split on commas, trimmed and checked, from the environment or a JSON list in the config file", () => {
    expect(readSettings({ env: { NATS_URL: " nats://a:4222 ,nats://b:4222,, tls://c:4443 " } }).natsUrl).toBe("nats://a:4222,nats://b:4222,tls://c:4443");
    const path = file("cluster.json", { natsUrl: ["nats://a:4222", "nats://b:4222", "nats://c:4222"] });
    expect(readSettings({ env: {}, configFile: path }).natsUrl).toBe("nats://a:4222,nats://b:4222,nats://c:4222");
  });

  it("names the bad entry, and bounds the count and length", () => {
    const bad = (url: string) => () => readSettings({ env: { NATS_URL: url } });
    expect(bad("nats://a:4222,http://b:80")).toThrow(/NATS_URL: "http:\/\/b:80" has scheme http/);
    expect(bad("nats://a:4222,nats://b:99999")).toThrow(/"nats:\/\/b:99999" is not a URL/);
    expect(bad("nats://a b:4222")).toThrow(/white space/);
    expect(bad(Array.from({ length: 33 }, (_, i) => `nats://h${i}:4222`).join(","))).toThrow(/33 NATS servers; at most 32/);
    expect(bad(`nats://${"a".repeat(300)}:4222`)).toThrow(/longer than 256 characters/);
    expect(bad(",,")).toThrow(/names no NATS server/);
    const wrong = file("cluster-bad.json", { natsUrl: ["nats://a:4222", 7] });
    expect(() => readSettings({ env: {}, configFile: wrong })).toThrow(/"natsUrl" must be a non-empty string \(a server URL\) or a list of server URLs/);
    const badEntry = file("cluster-bad-entry.json", { natsUrl: ["nats://a:4222", "ftp://b"] });
    expect(() => readSettings({ env: {}, configFile: badEntry })).toThrow(/NATS_URL \("natsUrl" in .*\): "ftp:\/\/b" has scheme ftp/);
  });

  it("never shows the password or token of a bad entry", () => {
    const message = (url: string) => {
      try {
        readSettings({ env: { NATS_URL: url } });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`${url} was accepted`);
    };
    for (const url of ["nats://ada:s3cret-pw@a:99999", "nats://s3cret-token@a:0", "http://ada:s3cret-pw@a:4222", "ada:s3cret-pw@a:99999", "nats://ada:s3/cret-pw@a:4222"]) {
      const text = message(url);
      expect(text).not.toContain("s3cret");
      expect(text).toContain("***@");
    }
    expect(message("nats://ada:s3cret-pw@a:99999")).toContain(`"nats://***@a:99999" is not a URL`);
  });
});

describe("a number setting", () => {
  it("refuses blank text, naming the variable, rather than reading it as 0", () => {
    expect(readSettings({ env: { MICRO_GATEWAY_PORT: "" } }).gatewayPort).toBe(8080); // empty is unset
    expect(() => readSettings({ env: { MICRO_GATEWAY_PORT: " " } })).toThrow(/MICRO_GATEWAY_PORT must be a whole number.*, got " "/);
    expect(() => readSettings({ env: { MICRO_NATS_PORT: "\t" } })).toThrow(/MICRO_NATS_PORT must be a whole number/);
    expect(() => readSettings({ env: {}, configFile: file("blank-port.json", { gatewayPort: "  " }) })).toThrow(/MICRO_GATEWAY_PORT \("gatewayPort" in .*\) must be a whole number/);
  });
});

describe("ports and times", () => {
  it("refuse a port above 65535 and a time a timer cannot hold, naming the variable", () => {
    expect(() => readSettings({ env: { MICRO_NATS_PORT: "99999" } })).toThrow(/MICRO_NATS_PORT must be a whole number from 0 to 65535, got "99999"/);
    expect(() => readSettings({ env: { MICRO_GATEWAY_PORT: "65536" } })).toThrow(/MICRO_GATEWAY_PORT must be a whole number from 0 to 65535/);
    expect(() => readSettings({ env: { MICRO_METRICS_PORT: "70000" } })).toThrow(/MICRO_METRICS_PORT must be a whole number from 0 to 65535/);
    expect(() => readSettings({ env: { MICRO_CONNECT_TIMEOUT_MS: "99999999999" } })).toThrow(/MICRO_CONNECT_TIMEOUT_MS must be a whole number from 1 to 2147483647/);
    expect(() => readSettings({ env: { MICRO_GATEWAY_TIMEOUT_MS: "2147483648" } })).toThrow(/MICRO_GATEWAY_TIMEOUT_MS must be a whole number from 1 to 2147483647/);
    expect(() => readSettings({ env: { MICRO_REGISTRY_TTL_MS: "99999999999" } })).toThrow(/MICRO_REGISTRY_TTL_MS must be a whole number from 1000 to 2147483647/);
    expect(() => readSettings({ env: { MICRO_DRAIN_TIMEOUT_MS: "2147483647" } })).toThrow(/MICRO_DRAIN_TIMEOUT_MS must be a whole number from 0 to 2147482647/);
    expect(readSettings({ env: { MICRO_NATS_PORT: "65535", MICRO_CONNECT_TIMEOUT_MS: "2147483647" } })).toMatchObject({ natsPort: 65535, connectTimeoutMs: 2147483647 });
  });
});

describe("MICRO_REPLICAS", () => {
  it("sets every store's replicas, MICRO_EVENTS_REPLICAS overriding it for events; 1 to 5", () => {
    expect(readSettings({ env: {} })).toMatchObject({ replicas: 1, events: { replicas: 1 } });
    expect(readSettings({ env: { MICRO_REPLICAS: "3" } })).toMatchObject({ replicas: 3, events: { replicas: 3 } });
    expect(readSettings({ env: { MICRO_REPLICAS: "3", MICRO_EVENTS_REPLICAS: "5" } })).toMatchObject({ replicas: 3, events: { replicas: 5 } });
    expect(() => readSettings({ env: { MICRO_REPLICAS: "7" } })).toThrow(/MICRO_REPLICAS must be a whole number from 1 to 5, got "7"/);
    expect(() => readSettings({ env: { MICRO_REPLICAS: "0" } })).toThrow(/MICRO_REPLICAS must be a whole number from 1 to 5/);
  });
});

describe("the README's Configuration section", () => {
  // What users read to configure jetmicro: every setting the code reads must be there, under its
  // variable in the table and its key in the list of config-file keys.
  const readme = readFileSync(join(import.meta.dir, "../../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## Configuration\n"), readme.indexOf("\n## ", readme.indexOf("\n## Configuration\n") + 1));
  const tableVariables = new Set([...section.matchAll(/^\|([^|]+)\|/gm)].flatMap(([, cell]) => [...cell!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!)));
  const fileParagraph = section.slice(section.indexOf("Every setting above"), section.indexOf("Precedence, highest first"));
  const exceptions = fileParagraph.slice(0, fileParagraph.indexOf("can also be set")).match(/`[A-Z_*]+`/g)!.map((e) => new RegExp(`^${e.slice(1, -1).replaceAll("*", "[A-Z0-9_]*")}$`));

  it("lists every setting's variable in the table and its key among the config-file keys", () => {
    const settings = Object.values(settingTable);
    expect(settings.filter((s) => !tableVariables.has(s.variable)).map((s) => s.variable)).toEqual([]);
    expect(settings.filter((s) => !fileParagraph.includes(`\`${s.key}\``)).map((s) => s.key)).toEqual([]);
  });

  it("names every variable of the table the config file does not take as an exception", () => {
    const inFile = new Set<string>(Object.values(settingTable).map((s) => s.variable));
    const notInFile = [...tableVariables].filter((v) => !inFile.has(v));
    expect(notInFile.length).toBeGreaterThan(0);
    expect(notInFile.filter((v) => !exceptions.some((e) => e.test(v)))).toEqual([]);
    // And no exception hides a setting the file does take.
    expect([...inFile].filter((v) => exceptions.some((e) => e.test(v)))).toEqual([]);
  });

  it("lists the environment variables the code reads", () => {
    const read = new Set<string>();
    for (const dir of ["runtime", "gateway", "cli"]) {
      for (const path of new Bun.Glob("**/*.ts").scanSync(join(import.meta.dir, "../../..", dir))) {
        const text = readFileSync(join(import.meta.dir, "../../..", dir, path), "utf8");
        for (const m of text.matchAll(/\b(MICRO_[A-Z0-9_]*[A-Z0-9])\b/g)) read.add(m[1]!);
      }
    }
    // Not settings: JetStream stream names (`MICRO_EVENTS`, `MICRO_ACTORS_<namespace>`), and the
    // variable `micro run --watch` sets for the child it restarts.
    for (const name of ["MICRO_EVENTS", "MICRO_ACTORS", "MICRO_WATCH_CHILD"]) expect(read.delete(name)).toBe(true);
    expect([...read].filter((v) => !tableVariables.has(v)).sort()).toEqual([]);
  });
});
