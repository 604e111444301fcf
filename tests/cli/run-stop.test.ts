import { afterAll, describe, expect, it } from "bun:test";
import { startTestNats } from "../support/nats.ts";
import { greeterModule, makeServicesDir } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";

const services = makeServicesDir({ "greeter.ts": greeterModule("greeter", 0) });
// A module that starts a timer of its own and never clears it: it keeps the event loop alive.
const ticking = makeServicesDir({ "greeter.ts": `${greeterModule("greeter", 0)}\nsetInterval(() => {}, 1000);\n` });
afterAll(() => {
  services.remove();
  ticking.remove();
});

describe("micro run whose NATS server is gone", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stops within drainTimeoutMs plus a second on one ${signal}`, async () => {
      const nats = await startTestNats();
      const child = runMicro(["run", services.dir], { NATS_URL: nats.url, MICRO_DRAIN_TIMEOUT_MS: "2000" });
      try {
        await child.waitFor(/service greeter/);
        nats.kill("SIGKILL");
        await nats.exited;
        const sent = Date.now();
        child.process.kill(signal);
        await child.exited;
        const tookMs = Date.now() - sent;
        expect(tookMs).toBeLessThan(2000 + 1000 + 500);
      } finally {
        child.process.kill("SIGKILL");
        await nats.stop();
      }
    }, 30_000);
  }
});

describe("micro run with a module that keeps a timer of its own", () => {
  it("ends with code 0 within a second of stopping, saying why, not after the stop's bound with code 1", async () => {
    const nats = await startTestNats();
    const child = runMicro(["run", ticking.dir], { NATS_URL: nats.url, MICRO_DRAIN_TIMEOUT_MS: "5000" });
    try {
      await child.waitFor(/service greeter/);
      const sent = Date.now();
      child.process.kill("SIGINT");
      const code = await child.exited;
      expect(code).toBe(0);
      expect(Date.now() - sent).toBeLessThan(5000);
      expect(child.output()).toContain("stopped");
      expect(child.output()).toContain("keeps running");
      expect(child.output()).not.toContain("is NATS gone");
    } finally {
      child.process.kill("SIGKILL");
      await nats.stop();
    }
  }, 30_000);
});
