import { describe, expect, it } from "bun:test";
import { sidecarOptionsFromArgs } from "../../../gateway/sidecar/mod.ts";

describe("sidecar flags", () => {
  it("reads fronting mode from flags, with repeated and comma-separated endpoints", () => {
    const options = sidecarOptionsFromArgs([
      "--name", "legacy", "--version=1.2.0", "--app", "http://127.0.0.1:5000", "--health", "/health", "--health-interval", "250",
      "--endpoint", "Legacy.Quote=/quote", "--endpoint", "Legacy.Ping,Legacy.Stats=/stats", "--metadata", "team=core", "--port", "0", "--concurrency", "4",
    ]);
    expect(options).toEqual({
      port: 0,
      app: "http://127.0.0.1:5000",
      name: "legacy",
      version: "1.2.0",
      endpoints: [{ name: "Legacy.Quote", path: "/quote" }, "Legacy.Ping", { name: "Legacy.Stats", path: "/stats" }],
      metadata: { team: "core" },
      health: "/health",
      healthIntervalMs: 250,
      concurrency: 4,
    });
  });

  it("fills what flags leave out from MICRO_* variables, flags winning", () => {
    const options = sidecarOptionsFromArgs(["--name", "from-flag"], {
      MICRO_SIDECAR_NAME: "from-env", MICRO_SIDECAR_APP: "http://app:5000", MICRO_SIDECAR_ENDPOINTS: "A.B, A.C=/c",
      MICRO_SIDECAR_PORT: "9000", MICRO_SIDECAR_HEALTH: "/up", NATS_URL: "nats://n:4222", MICRO_NAMESPACE: "acme",
    });
    expect(options).toEqual({
      name: "from-flag", app: "http://app:5000", endpoints: ["A.B", { name: "A.C", path: "/c" }], port: 9000, health: "/up",
      natsUrl: "nats://n:4222", namespace: "acme",
    });
  });

  it("names an unknown flag or a bad value", () => {
    expect(() => sidecarOptionsFromArgs(["--nmae", "x"])).toThrow('unknown flag "--nmae"');
    expect(() => sidecarOptionsFromArgs(["--name"])).toThrow("--name needs a value");
    expect(() => sidecarOptionsFromArgs(["--port", "eighty"])).toThrow('--port / MICRO_SIDECAR_PORT must be a whole number >= 0, got "eighty"');
    expect(() => sidecarOptionsFromArgs(["--health-interval", "5"])).toThrow("must be a whole number >= 100");
    expect(() => sidecarOptionsFromArgs(["--metadata", "oops"])).toThrow('--metadata takes key=value, got "oops"');
    expect(() => sidecarOptionsFromArgs(["legacy"])).toThrow('unexpected argument "legacy"');
  });
});
