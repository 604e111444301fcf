import { describe, expect, it } from "bun:test";
import { createGateway } from "../../gateway/app.ts";
import { assertSafeExposure, browserDefaults, isLoopbackHost, isLoopbackOrigin } from "../../gateway/exposure.ts";
import type { Transport } from "../../runtime/mod.ts";
import { settingsFromRaw, settingTable } from "../../runtime/config/settings.ts";

describe("gateway exposure", () => {
  it("refuses a non-loopback bind with no auth unless told it is meant to be open", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "example.com"]) {
      expect(() => assertSafeExposure({ host, auth: false, insecure: false })).toThrow("MICRO_GATEWAY_INSECURE=1");
      expect(() => assertSafeExposure({ host, auth: true, insecure: false })).not.toThrow();
      expect(() => assertSafeExposure({ host, auth: false, insecure: true })).not.toThrow();
    }
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"]) {
      expect(isLoopbackHost(host)).toBe(true);
      expect(() => assertSafeExposure({ host, auth: false, insecure: false })).not.toThrow();
    }
  });

  it("reads MICRO_GATEWAY_INSECURE and MICRO_GATEWAY_ALLOWED_HOSTS", () => {
    const raw = Object.fromEntries(Object.keys(settingTable).map((k) => [k, undefined])) as Parameters<typeof settingsFromRaw>[0];
    expect(settingsFromRaw(raw).gatewayInsecure).toBe(false);
    expect(settingsFromRaw(raw).gatewayAllowedHosts).toBeUndefined();
    const set = settingsFromRaw({ ...raw, gatewayInsecure: "1", gatewayAllowedHosts: "API.example.com, localhost:8080" });
    expect([set.gatewayInsecure, set.gatewayAllowedHosts]).toEqual([true, ["api.example.com", "localhost:8080"]]);
    expect(() => settingsFromRaw({ ...raw, gatewayAllowedHosts: "a b" })).toThrow("MICRO_GATEWAY_ALLOWED_HOSTS must be host names");
  });
});

describe("what a gateway answers browsers by default", () => {
  it("on loopback with no auth: pages of this machine, by its own names; else any, as before", () => {
    expect(browserDefaults({ host: "127.0.0.1", auth: false })).toEqual({ corsOrigins: ["loopback"], allowedHosts: ["localhost", "127.0.0.1", "[::1]"] });
    expect(browserDefaults({ host: "127.0.0.2", auth: false }).allowedHosts).toEqual(["localhost", "127.0.0.1", "[::1]", "127.0.0.2"]);
    expect(browserDefaults({ host: "::1", auth: false }).allowedHosts).toEqual(["localhost", "127.0.0.1", "[::1]"]);
    expect(browserDefaults({ host: "127.0.0.1", auth: true })).toEqual({ corsOrigins: ["*"] });
    expect(browserDefaults({ host: "0.0.0.0", auth: false })).toEqual({ corsOrigins: ["*"] }); // MICRO_GATEWAY_INSECURE=1: meant to be open
    for (const origin of ["http://localhost:5173", "https://127.0.0.1", "http://[::1]:3000", "http://127.1.2.3:80"]) expect([origin, isLoopbackOrigin(origin)]).toEqual([origin, true]);
    for (const origin of ["https://evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io", "null", "file://", "http://localhost:5173/x"]) expect([origin, isLoopbackOrigin(origin)]).toEqual([origin, false]);
  });

  it("answers CORS for the loopback origins and any named beside them, and no other", async () => {
    const app = createGateway({ transport: {} as Transport, corsOrigins: ["loopback", "https://app.example"] });
    const preflight = async (origin: string) =>
      (await app.fetch(new Request("http://127.0.0.1/greeter/say-hello", { method: "OPTIONS", headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } })))
        .headers.get("access-control-allow-origin");
    expect(await preflight("http://localhost:5173")).toBe("http://localhost:5173");
    expect(await preflight("https://app.example")).toBe("https://app.example");
    expect(await preflight("https://evil.example")).toBeNull();
  });
});
