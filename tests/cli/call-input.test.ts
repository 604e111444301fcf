/**
 * The CLI in pipelines: `micro call` reads its request from standard input or a file and
 * prints compact JSON on request; argument mistakes exit 2; `micro replay | head -1` ends
 * quietly.
 */
import { beforeAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createJetStreamBroker, createNatsRegistry, type Registry } from "../../runtime/mod.ts";
import greeter from "../../services/greeter.ts";
import { micro } from "../support/cli.ts";
import { withNats } from "../support/nats.ts";
import { startRegistered } from "../support/registered.ts";
import { repoPath } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";

const { nats, conn, teardown } = withNats();
let registry: Registry;
const dir = mkdtempSync(join(tmpdir(), "jetmicro-call-input-"));

beforeAll(async () => {
  registry = await createNatsRegistry(conn.nc);
  teardown(() => registry.close());
  const instance = await startRegistered(greeter, conn, registry);
  teardown(() => instance.stop());
  teardown(() => rmSync(dir, { recursive: true, force: true }));
});

/** Runs a shell pipeline with `micro` meaning the repo's CLI. */
async function shell(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn({
    cmd: ["sh", "-c", script],
    env: { ...process.env, NO_COLOR: "1", NATS_URL: nats.url, MICRO: `${process.execPath} ${repoPath("cli/main.ts")}` },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

describe("micro call input and output", () => {
  it("reads the request from standard input with -", async () => {
    const result = await shell(`echo '{"name":"Stdin"}' | $MICRO call greeter Greeter.SayHello -`);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ message: "Hello Stdin" });
  });

  it("reads the request from a file with @file.json", async () => {
    const file = join(dir, "request.json");
    writeFileSync(file, '{"name":"File"}');
    const result = await micro(["call", "greeter", "Greeter.SayHello", `@${file}`], { NATS_URL: nats.url });
    expect(JSON.parse(result.stdout)).toEqual({ message: "Hello File" });
  });

  it("prints one line with --output json, indented JSON by default", async () => {
    const compact = await micro(["call", "greeter", "Greeter.SayHello", '{"name":"Ada"}', "--output", "json"], { NATS_URL: nats.url });
    expect(compact.stdout).toBe('{"message":"Hello Ada"}\n');
    const pretty = await micro(["call", "greeter", "Greeter.SayHello", '{"name":"Ada"}'], { NATS_URL: nats.url });
    expect(pretty.stdout).toBe('{\n  "message": "Hello Ada"\n}\n');
  });

  it("exits 2 for local argument mistakes, before and without NATS", async () => {
    const nowhere = { NATS_URL: "nats://127.0.0.1:1" };
    for (const args of [
      ["call", "greeter", "Greeter.SayHello", "{not json"],
      ["call", "greeter", "Greeter.SayHello", "@/no/such/file.json"],
      ["call", "greeter", "Greeter.SayHello", "--metadata", "bad key=1"],
      ["call", "greeter", "Greeter.SayHello", "--node", "two words"],
      ["call", "greeter", "Greeter.SayHello", "--timeout", "soon"],
      ["call", "two words", "Greeter.SayHello"],
    ]) {
      for (const env of [{ NATS_URL: nats.url }, nowhere]) {
        const result = await micro(args, env);
        expect({ args, code: result.code }).toEqual({ args, code: 2 });
      }
    }
  });
});

describe("a request file with no size to check first", () => {
  it("is read only up to the bound: @/dev/zero exits 2 at once instead of reading forever", async () => {
    const child = runMicro(["call", "greeter", "Greeter.SayHello", "@/dev/zero"], { NATS_URL: "nats://127.0.0.1:1" });
    const killed = setTimeout(() => child.process.kill("SIGKILL"), 10_000);
    try {
      expect(await child.exited).toBe(2);
      expect(child.output()).toContain(`micro call: error invalid_argument: the request file "/dev/zero" is over 1048576 bytes`);
    } finally {
      clearTimeout(killed);
    }
  });
});

describe("micro replay in a pipeline", () => {
  it("ends quietly when the reader leaves (| head -1)", async () => {
    const broker = await createJetStreamBroker(conn.nc);
    const payload = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(2000) }));
    for (let i = 0; i < 300; i++) await broker.publish("pipe.test", payload, { contentType: "application/json" });
    const result = await shell(`$MICRO replay 'pipe.>' --output json | head -1; echo "status $?"`);
    expect(result.stderr).toBe("");
    expect(result.stdout.split("\n")[0]).not.toBe("");
  });
});
