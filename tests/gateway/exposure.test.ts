import { describe, expect, it } from "bun:test";
import { assertSafeExposure, isLoopbackHost } from "../../gateway/exposure.ts";
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
