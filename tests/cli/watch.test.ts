import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { createClient } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { makeProject, micro, spawnMicro } from "../support/cli.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
const project = makeProject();
const services = join(project.dir, "services");

/** A greeter module answering `<word> <name>` after `delayMs`. */
function slowModule(word: string, delayMs: number): string {
  return `import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { defineService } from "../runtime/mod.ts";
export default defineService(Greeter, { name: "slow", version: "1.0.0" }, {
  async sayHello(req) {
    await new Promise((r) => setTimeout(r, ${delayMs}));
    return { message: "${word} " + req.name };
  },
});
`;
}

beforeAll(async () => {
  nats = await startTestNats();
  mkdirSync(services);
  expect(Bun.spawnSync({ cmd: [join(project.dir, "node_modules/.bin/buf"), "generate"], cwd: project.dir }).exitCode).toBe(0);
  writeFileSync(join(services, "slow.ts"), slowModule("old", 1500));
});
afterAll(async () => {
  await nats.stop();
  project.remove();
});

describe("micro run --watch", () => {
  it("reloads an edited service without dropping its in-flight call, keeps it on a broken edit, and follows proto changes", async () => {
    const env = { NATS_URL: nats.url };
    const run = spawnMicro(["run", "services", "--watch"], env, project.dir);
    const conn = await openTestConnection(nats.url);
    try {
      await run.waitFor(/watching services\/ and proto\/ for changes/);
      await run.waitFor(/service slow 1\.0\.0/);
      const client = createClient(Greeter, conn.transport, { service: "slow", timeoutMs: 10_000 });

      const inFlight = client.sayHello({ name: "A" });
      await Bun.sleep(300);
      writeFileSync(join(services, "slow.ts"), slowModule("new", 0));
      await run.waitFor(/reloaded services\/slow\.ts \(the old instance drained\)/);
      expect((await inFlight).message).toBe("old A");
      expect((await client.sayHello({ name: "B" })).message).toBe("new B");

      writeFileSync(join(services, "slow.ts"), `${slowModule("broken", 0)}\nthrow new Error("half-saved");\n`);
      await run.waitFor(/services\/slow\.ts failed to load: the previous version keeps serving/);
      expect(run.output()).toContain("half-saved");
      expect((await client.sayHello({ name: "C" })).message).toBe("new C");

      // A new module starts; a new rpc in its proto is generated and served after a reload.
      expect((await micro(["new", "inventory"], {}, project.dir)).code).toBe(0);
      await run.waitFor(/service inventory 1\.0\.0/);
      const proto = join(project.dir, "proto/inventory/v1/inventory.proto");
      const beforeSave = run.output().length;
      writeFileSync(proto, readFileSync(proto, "utf8").replace("rpc Get(", "rpc Count(GetRequest) returns (GetResponse);\n  rpc Get("));
      await run.waitFor(/proto\/inventory\/v1\/inventory\.proto changed: buf generate/);
      await run.waitFor(/\[services\/inventory\.ts\]\s+Inventory\.Count/);
      await run.waitFor(/reloaded services\/inventory\.ts/);
      // One save, one generation (editors' write-then-touch used to run it twice).
      expect(run.output().slice(beforeSave).match(/inventory\.proto changed: buf generate/g)).toHaveLength(1);
      // micro new's own files may have caused a reload too: wait for the registry to show the new code alone.
      let endpoints: string[] = [];
      for (let tries = 0; tries < 30 && endpoints.join() !== "Inventory.Count,Inventory.Get"; tries++) {
        const described = JSON.parse((await micro(["describe", "inventory", "-o", "json"], env, project.dir)).stdout);
        endpoints = described.flatMap((v: { endpoints: Array<{ name: string }> }) => v.endpoints.map((e) => e.name));
        if (endpoints.join() !== "Inventory.Count,Inventory.Get") await Bun.sleep(200);
      }
      expect(endpoints).toEqual(["Inventory.Count", "Inventory.Get"]);

      // Each service runs alone: the broken slow.ts is not loaded beside inventory.
      expect(run.output()).not.toMatch(/\[services\/inventory\.ts\] FAILED/);

      run.process.kill("SIGINT");
      expect(await run.exited).toBe(0);
      expect(run.output()).toContain("stopped");
    } finally {
      run.process.kill("SIGKILL");
      await conn.close();
    }
  }, 60_000);

  it("restarts a crashed service, and reloads the services that import an edited _helper.ts", async () => {
    const env = { NATS_URL: nats.url };
    writeFileSync(join(services, "_words.ts"), `export const word = "one";\n`);
    writeFileSync(join(services, "crashy.ts"), `import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import { defineService } from "../runtime/mod.ts";
import { word } from "./_words.ts";
export default defineService(Greeter, { name: "crashy", version: "1.0.0" }, {
  sayHello(req) {
    if (req.name === "die") process.exit(3);
    return { message: word + " " + req.name };
  },
});
`);
    const run = spawnMicro(["run", "services", "--watch"], env, project.dir);
    const conn = await openTestConnection(nats.url);
    try {
      await run.waitFor(/service crashy 1\.0\.0/);
      const client = createClient(Greeter, conn.transport, { service: "crashy", timeoutMs: 5000 });
      expect((await client.sayHello({ name: "x" })).message).toBe("one x");

      await client.sayHello({ name: "die" }).catch(() => undefined);
      await run.waitFor(/services\/crashy\.ts stopped unexpectedly \(exit code 3\): restarting/);
      await run.waitFor(/restarted services\/crashy\.ts/);
      expect((await client.sayHello({ name: "y" })).message).toBe("one y");

      writeFileSync(join(services, "_words.ts"), `export const word = "two";\n`);
      await run.waitFor(/services\/_words\.ts changed: reloading services\/crashy\.ts/);
      await run.waitFor(/reloaded services\/crashy\.ts/);
      expect((await client.sayHello({ name: "z" })).message).toBe("two z");
      run.process.kill("SIGINT");
      expect(await run.exited).toBe(0);
    } finally {
      run.process.kill("SIGKILL");
      await conn.close();
    }
  }, 60_000);

  it("leaves no service running when the watcher is killed outright", async () => {
    const env = { NATS_URL: nats.url };
    writeFileSync(join(services, "slow.ts"), slowModule("again", 0));
    const run = spawnMicro(["run", "services", "--watch"], env, project.dir);
    try {
      await run.waitFor(/service slow 1\.0\.0/);
      await run.waitFor(/service inventory 1\.0\.0/);
      expect((await micro(["health", "slow"], env)).code).toBe(0);
      run.process.kill("SIGKILL");
      await run.exited;
      let health = await micro(["health", "slow"], env);
      for (let tries = 0; tries < 25 && health.code === 0; tries++) {
        await Bun.sleep(200);
        health = await micro(["health", "slow"], env);
      }
      expect(health.code).toBe(1);
      expect(health.stderr).toContain(`no instance of "slow" answers or is registered`);
    } finally {
      run.process.kill("SIGKILL");
    }
  }, 30_000);
});
