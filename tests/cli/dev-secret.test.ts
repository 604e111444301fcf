import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { micro } from "../support/cli.ts";
import { freePort, greeterModule, makeServicesDir } from "../support/service-dirs.ts";
import { runMicro } from "../support/subprocess.ts";

const services = makeServicesDir({ "dev.ts": greeterModule("dev-cli") });
const dir = mkdtempSync(join(tmpdir(), "jetmicro-dev-secret-"));
afterAll(() => {
  services.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe("micro run's own nats-server", () => {
  it("takes the CLI in with the generated secret, and keeps out a process without it", async () => {
    const port = String(await freePort());
    const secretFile = join(dir, "nats-secret");
    const env = { NATS_URL: undefined, MICRO_NATS_PORT: port, MICRO_NATS_STORE_DIR: join(dir, "store"), MICRO_NATS_SECRET_FILE: secretFile };
    const child = runMicro(["run", services.dir], env);
    try {
      await child.waitFor(/service dev-cli/);
      expect(child.output()).toContain("(started by jetmicro)");
      const call = await micro(["call", "dev-cli", "Greeter.SayHello", '{"name":"Ada"}'], env);
      expect([call.code, call.stdout]).toEqual([0, expect.stringContaining("dev-cli says hello to Ada")]);
      const outsider = await micro(["call", "dev-cli", "Greeter.SayHello", '{"name":"Eve"}'], { ...env, MICRO_NATS_SECRET_FILE: join(dir, "no-such-secret") });
      expect(outsider.code).toBe(3);
      expect(outsider.stderr).toMatch(/authorization violation/i);
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    } finally {
      child.process.kill("SIGKILL");
    }
  }, 60_000);
});
