import { describe, expect, it } from "bun:test";
import { camel, compareVersionsDescending, resolvePath, versionMatches } from "../../gateway/paths.ts";

describe("gateway path resolver (go-micro's rules)", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["/greeter", { service: "greeter", endpoint: "Greeter.Call" }],
    ["/greeter/", { service: "greeter", endpoint: "Greeter.Call" }],
    ["/greeter/say-hello", { service: "greeter", endpoint: "Greeter.SayHello" }],
    ["/user-profile/get-by-id", { service: "user-profile", endpoint: "UserProfile.GetById" }],
    ["/greeter/SayHello", { service: "greeter", endpoint: "Greeter.SayHello" }],
    ["/greeter/admin/list-users", { service: "greeter", endpoint: "Admin.ListUsers" }],
    ["/v1/greeter/say-hello", { service: "greeter", endpoint: "Greeter.SayHello", version: "v1" }],
    ["/v2/greeter/admin/list-users", { service: "greeter", endpoint: "Admin.ListUsers", version: "v2" }],
    ["/v1/greeter", { service: "v1", endpoint: "V1.Greeter" }],
    ["/shop/cart/items/add", { service: "cart", endpoint: "Items.Add", subNamespace: "shop" }],
    ["/acme/shop/cart/items/add", { service: "cart", endpoint: "Items.Add", subNamespace: "acme.shop" }],
    ["/vx/greeter/say-hello", { service: "vx", endpoint: "Greeter.SayHello" }],
  ];
  for (const [path, route] of cases) {
    it(`resolves ${path}`, () => expect(resolvePath(path)).toEqual(route as never));
  }

  it("answers not_found for paths that cannot name a service", () => {
    for (const path of ["/", "", "/greeter/say.hello", "/a/b/c/d/e/f/g/h/i", "/greeter/%20", "/events/a/b/c", "/shop/dlq/a/b/c", "/node/x/y/z"]) {
      expect(() => resolvePath(path)).toThrow(expect.objectContaining({ code: "not_found" }));
    }
  });

  it("turns kebab-case and snake_case into CamelCase", () => {
    expect(camel("say-hello")).toBe("SayHello");
    expect(camel("say_hello")).toBe("SayHello");
    expect(camel("get-by--id")).toBe("GetById");
  });

  it("matches a path's v<major> against registered versions", () => {
    const table: Array<[string, string, boolean]> = [
      ["v1", "v1", true], ["v1", "1", true], ["v1", "1.4.2", true], ["v1", "v1.4.2", true], ["v1", "1.0.0-beta", true],
      ["v1", "10.0.0", false], ["v1", "latest", false], ["v2", "1.9.9", false], ["v10", "10.1.0", true],
    ];
    for (const [wanted, version, expected] of table) expect([wanted, version, versionMatches(wanted, version)]).toEqual([wanted, version, expected]);
  });

  it("orders versions newest first by number, not text", () => {
    expect(["1.9.3", "1.10.0", "1.2.0", "v1.11"].sort(compareVersionsDescending)).toEqual(["v1.11", "1.10.0", "1.9.3", "1.2.0"]);
  });
});
