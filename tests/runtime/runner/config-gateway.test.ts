import { afterEach, describe, expect, it } from "bun:test";
import { runnerConfigFromEnv } from "../../../runtime/runner/config.ts";

const names = ["MICRO_GATEWAY_AUTH_FILE", "MICRO_GATEWAY_FORWARD_HEADERS", "MICRO_GATEWAY_CORS_ORIGINS", "MICRO_GATEWAY_MAX_BODY_BYTES", "MICRO_GATEWAY_TIMEOUT_MS", "MICRO_GATEWAY_RPC_NAMESPACES", "MICRO_NAMESPACE"];
const saved = Object.fromEntries(names.map((n) => [n, process.env[n]]));
afterEach(() => {
  for (const n of names) {
    if (saved[n] === undefined) delete process.env[n];
    else process.env[n] = saved[n];
  }
});
const withEnv = (vars: Record<string, string>) => {
  for (const n of names) delete process.env[n];
  Object.assign(process.env, vars);
  return runnerConfigFromEnv();
};

describe("gateway settings from the environment", () => {
  it("has open, permissive development defaults", () => {
    const c = withEnv({});
    expect([c.gatewayAuthFile, c.gatewayForwardHeaders, c.gatewayCorsOrigins, c.gatewayMaxBodyBytes, c.gatewayTimeoutMs, c.gatewayRpcNamespaces])
      .toEqual([undefined, undefined, undefined, 1024 * 1024, 10_000, ["micro"]]);
  });

  it("reads every MICRO_GATEWAY_* setting", () => {
    const c = withEnv({
      MICRO_NAMESPACE: "acme",
      MICRO_GATEWAY_AUTH_FILE: "/etc/jetmicro/auth.json",
      MICRO_GATEWAY_FORWARD_HEADERS: "X-Tenant, Accept-Language",
      MICRO_GATEWAY_CORS_ORIGINS: "https://a.example,https://b.example",
      MICRO_GATEWAY_MAX_BODY_BYTES: "4096",
      MICRO_GATEWAY_TIMEOUT_MS: "2500",
      MICRO_GATEWAY_RPC_NAMESPACES: "acme,acme.admin",
    });
    expect([c.gatewayAuthFile, c.gatewayForwardHeaders, c.gatewayCorsOrigins, c.gatewayMaxBodyBytes, c.gatewayTimeoutMs, c.gatewayRpcNamespaces])
      .toEqual(["/etc/jetmicro/auth.json", ["x-tenant", "accept-language"], ["https://a.example", "https://b.example"], 4096, 2500, ["acme", "acme.admin"]]);
    expect(withEnv({ MICRO_GATEWAY_CORS_ORIGINS: "none" }).gatewayCorsOrigins).toEqual([]);
  });

  it("names the setting that is wrong", () => {
    expect(() => withEnv({ MICRO_GATEWAY_FORWARD_HEADERS: "x-ok,bad header" })).toThrow('MICRO_GATEWAY_FORWARD_HEADERS must be header names (or x-micro-meta-*) separated by commas, got "bad header"');
    expect(withEnv({ MICRO_GATEWAY_FORWARD_HEADERS: "x-tenant, X-Micro-Meta-*" }).gatewayForwardHeaders).toEqual(["x-tenant", "x-micro-meta-*"]);
    expect(() => withEnv({ MICRO_GATEWAY_MAX_BODY_BYTES: "1MB" })).toThrow('MICRO_GATEWAY_MAX_BODY_BYTES must be a whole number >= 1, got "1MB"');
    expect(() => withEnv({ MICRO_GATEWAY_RPC_NAMESPACES: "micro,a b" })).toThrow('MICRO_GATEWAY_RPC_NAMESPACES must be namespaces separated by commas, got "a b"');
  });
});
