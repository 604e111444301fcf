import { afterAll, describe, expect, it } from "bun:test";
import { startTestNats } from "../support/nats.ts";
import { greeterModule, makeServicesDir } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";

const services = makeServicesDir({ "greeter.ts": greeterModule("greeter", 0) });
afterAll(() => services.remove());

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
