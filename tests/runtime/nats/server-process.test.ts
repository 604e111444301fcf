import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { isNatsReachable, type NatsServerProcess, probeNatsServer, startNatsServer } from "../../../runtime/nats/mod.ts";
import { fileExists, isProcessAlive, makeTempDir, removeDir, runCommand } from "../../../runtime/platform/process.ts";
import { startTestNats } from "../../support/nats.ts";

let nats: NatsServerProcess;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats.stop());

describe("startNatsServer", () => {
  it("serves real clients on loopback with JetStream enabled", async () => {
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const nc = await connect({ servers: nats.url });
    try {
      expect(nc.info?.jetstream).toBe(true);
      const jsm = await jetstreamManager(nc);
      const account = await jsm.getAccountInfo();
      expect(account.streams).toBe(0);
      await jsm.streams.add({ name: "probe", subjects: ["probe.>"] });
      expect((await jsm.getAccountInfo()).streams).toBe(1);
    } finally {
      await nc.close();
    }
    // The stream lives in the temp store dir, not in some shared default location.
    expect(fileExists(`${nats.storeDir}/jetstream`)).toBe(true);
  });

  it("gives every server its own port and store dir", async () => {
    const other = await startTestNats();
    try {
      expect(other.port).not.toBe(nats.port);
      expect(other.storeDir).not.toBe(nats.storeDir);
      expect(other.pid).not.toBe(nats.pid);
      expect(await isNatsReachable(other.url)).toBe(true);
    } finally {
      await other.stop();
    }
  });

  it("stop() ends the process and deletes the temp store dir", async () => {
    const server = await startTestNats();
    expect(fileExists(server.storeDir)).toBe(true);
    expect(isProcessAlive(server.pid)).toBe(true);
    await server.stop();
    expect(isProcessAlive(server.pid)).toBe(false);
    expect(fileExists(server.storeDir)).toBe(false);
    expect(await isNatsReachable(server.url, 300)).toBe(false);
    await server.stop(); // a second stop is harmless
  });

  it("keeps a store dir it was given", async () => {
    const storeDir = makeTempDir("jetmicro-test-store-");
    try {
      const server = await startNatsServer({ storeDir });
      expect(server.storeDir).toBe(storeDir);
      await server.stop();
      expect(fileExists(`${storeDir}/jetstream`)).toBe(true);
    } finally {
      removeDir(storeDir);
    }
  });

  it("reports a crash through exited, and stop() still cleans up", async () => {
    const server = await startTestNats();
    server.kill("SIGKILL");
    expect(await server.exited).toBeNull();
    await server.stop();
    expect(fileExists(server.storeDir)).toBe(false);
  });

  it("rejects with the server's output when an argument is bad", async () => {
    const started = Date.now();
    const error = await startNatsServer({ args: ["--no-such-flag"] }).then(
      () => undefined,
      (reason: Error) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    // nats-server 2.9 exits with code 0 after printing usage, so only its output says why.
    expect(error?.message).toContain("nats-server exited with code");
    expect(error?.message).toContain("flag provided but not defined: -no-such-flag");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("rejects when the server is not ready in time", async () => {
    await expect(startNatsServer({ readyTimeoutMs: 1 })).rejects.toThrow("was not ready after 1 ms");
  });

  it("kills the server when the parent process exits without stopping it", async () => {
    const { code, url, storeDir } = await runParent("process.exit(0)");
    expect(code).toBe(0);
    expect(url).toStartWith("nats://127.0.0.1:");
    expect(await isNatsReachable(url, 300)).toBe(false);
    expect(fileExists(storeDir)).toBe(false);
  });

  it("kills the server and removes its store dir even when the parent is SIGKILLed", async () => {
    // No exit listener runs here; only the watchdog can clean up.
    const { code, url, storeDir } = await runParent(`process.kill(process.pid, "SIGKILL")`);
    expect(code).toBeNull();
    expect(await eventually(async () => !(await isNatsReachable(url, 300)) && !fileExists(storeDir))).toBe(true);
  });
});

describe("isNatsReachable", () => {
  it("is true for a running server, in any NATS_URL form", async () => {
    expect(await isNatsReachable(nats.url)).toBe(true);
    expect(await isNatsReachable(`127.0.0.1:${nats.port}`)).toBe(true);
    expect(await isNatsReachable(`nats://127.0.0.1:1,${nats.url}`)).toBe(true);
  });

  it("probes whether the server has JetStream", async () => {
    expect(await probeNatsServer(`127.0.0.1:${nats.port}`)).toEqual({ url: nats.url, version: expect.any(String), jetstream: true });
    const plain = await startNatsServer({ jetstream: false });
    try {
      expect((await probeNatsServer(plain.url))?.jetstream).toBe(false);
    } finally {
      await plain.stop();
    }
  });

  it("is false for a stopped server", async () => {
    const server = await startTestNats();
    await server.stop();
    expect(await isNatsReachable(server.url)).toBe(false);
  });

  it("is false for a port that is open but is not NATS", async () => {
    const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("hi") });
    try {
      expect(await isNatsReachable(`nats://127.0.0.1:${http.port}`, 300)).toBe(false);
    } finally {
      await http.stop(true);
    }
  });
});

/** Runs a child Bun process that starts a server, prints its url and store dir, then runs `end`. */
async function runParent(end: string): Promise<{ code: number | null; url: string; storeDir: string }> {
  const mod = new URL("../../../runtime/nats/mod.ts", import.meta.url).pathname;
  const script = `
    const { startNatsServer } = await import(${JSON.stringify(mod)});
    const server = await startNatsServer();
    console.log(server.url);
    console.log(server.storeDir);
    ${end};
  `;
  const { code, lines } = await runCommand(process.execPath, ["-e", script]);
  return { code, url: lines[0] ?? "", storeDir: lines[1] ?? "" };
}

/** Polls `check` for up to two seconds; cleanup by another process is not instant. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await check()) return true;
    await Bun.sleep(100);
  }
  return false;
}
