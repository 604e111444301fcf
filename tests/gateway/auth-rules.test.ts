import { describe, expect, it } from "bun:test";
import { sign } from "hono/jwt";
import { type AuthConfig, createAuth, parseAuthConfig } from "../../gateway/auth.ts";
import { type AuthTarget, gatewayTarget } from "../../gateway/auth-rules.ts";
import { createGateway } from "../../gateway/app.ts";
import type { Transport } from "../../runtime/mod.ts";

const secret = "a-test-secret-of-32-characters!!";
const config: AuthConfig = {
  apiKeys: {
    "k-dash": "dash", "k-side": "side", "k-ev": "ev", "k-svc": "svc", "k-hist": "hist", "k-admin": "admin",
    "k-none": "none", "k-real": "realdash", "k-as": "asuser", "k-web": "webber",
  },
  jwt: { secret, issuer: "tests" },
  allow: {
    dash: ["dashboard"],
    side: ["sidecar"],
    ev: ["events/deploy.*"],
    svc: ["greeter", "admin:users/Users.Get"],
    hist: ["history/*"],
    admin: ["*"],
    none: [],
    realdash: ["micro:dashboard", "micro:events"],
    asuser: ["@as-user/*"],
    webber: ["web/shop", "*:*/Nothing.Here"],
    "*": ["web/public"],
  },
};

const service = (namespace: string, name: string, endpoint: string): AuthTarget => ({ namespace, service: name, endpoint });
/** Every target of the table by a short key. */
const targets: Record<string, AuthTarget> = {
  "svc:dashboard": service("micro", "dashboard", "Dashboard.Call"),
  "svc:sidecar": service("micro", "sidecar", "Sidecar.Call"),
  "svc:events": service("micro", "events", "deploy.Start"),
  "svc:history": service("micro", "history", "History.Get"),
  "svc:web": service("micro", "web", "Web.Call"),
  "svc:web-public": service("micro", "web", "public"),
  "svc:greeter": service("micro", "greeter", "Greeter.SayHello"),
  "svc:audit": service("micro", "audit", "Audit.History"),
  "svc:users-get": service("admin", "users", "Users.Get"),
  "svc:users-delete": service("admin", "users", "Users.Delete"),
  "svc:other-greeter": service("other", "greeter", "Greeter.SayHello"),
  "svc:as-user": service("micro", "as-user", "Bob.Get"),
  "svc:nothing": service("micro", "x", "Nothing.Here"),
  "gw:dashboard": gatewayTarget("dashboard", "page"),
  "gw:sidecar-registry": gatewayTarget("sidecar", "registry"),
  "gw:sidecar-rpc": gatewayTarget("sidecar", "rpc"),
  "gw:events-deploy": gatewayTarget("events", "deploy.a"),
  "gw:events-deploy-deep": gatewayTarget("events", "deploy.b.c"),
  "gw:events-other": gatewayTarget("events", "billing.paid"),
  "gw:events-audit": gatewayTarget("events", "audit.user.bob.x"),
  "gw:history-bob": gatewayTarget("history", "bob"),
  "gw:history-star": gatewayTarget("history", "*"),
  "gw:web-shop": gatewayTarget("web", "shop"),
  "gw:web-public": gatewayTarget("web", "public"),
  "gw:web-admin": gatewayTarget("web", "admin"),
  "gw:as-bob": gatewayTarget("as-user", "bob"),
  "gw:greeter": gatewayTarget("greeter", "Greeter.SayHello"),
};
const identities = Object.values(config.apiKeys!);
/** Beyond its own history and its own user, what each identity is allowed; nothing else. */
const granted: Record<string, readonly string[]> = {
  dash: ["gw:dashboard"],
  side: ["gw:sidecar-registry", "gw:sidecar-rpc"],
  ev: ["gw:events-deploy", "gw:events-deploy-deep"],
  svc: ["svc:greeter", "svc:users-get"],
  hist: ["gw:history-bob", "gw:history-star"],
  admin: Object.keys(targets),
  none: [],
  realdash: ["svc:dashboard", "svc:events"],
  asuser: ["gw:as-bob"],
  webber: ["gw:web-shop", "svc:nothing"],
};
const everyone = ["gw:web-public"];

describe("auth rules name exactly what they grant", () => {
  const auth = createAuth(parseAuthConfig(config), "micro");

  it("allows the table's grants and nothing else: 0 wrongful allows over every identity and target", () => {
    const wrongfulAllows: string[] = [];
    const wrongfulDenials: string[] = [];
    let cases = 0;
    for (const identity of identities) {
      const own = { [`gw:history-${identity}`]: gatewayTarget("history", identity), [`gw:as-${identity}`]: gatewayTarget("as-user", identity) };
      const others = { "gw:history-other": gatewayTarget("history", `${identity}-2`), "gw:as-other": gatewayTarget("as-user", `not-${identity}`) };
      for (const [key, target] of Object.entries({ ...targets, ...own, ...others })) {
        cases++;
        const expected = key in own || granted[identity]!.includes(key) || everyone.includes(key) || identity === "admin"
          || (identity === "hist" && key === "gw:history-other") || (identity === "asuser" && key === "gw:as-other");
        const allowed = auth.allows(identity, target);
        if (allowed && !expected) wrongfulAllows.push(`${identity} → ${key}`);
        if (!allowed && expected) wrongfulDenials.push(`${identity} → ${key}`);
        if (!allowed) expect(() => auth.authorize(identity, target)).toThrow(/may not call/);
      }
    }
    expect(cases).toBeGreaterThan(250);
    expect(wrongfulAllows).toEqual([]);
    expect(wrongfulDenials).toEqual([]);
  });

  it("gives an unknown identity only the rules for everyone and its own history", () => {
    expect(auth.allows("stranger", gatewayTarget("web", "public"))).toBe(true);
    expect(auth.allows("stranger", gatewayTarget("history", "stranger"))).toBe(true);
    for (const target of Object.values(targets).filter((t) => t.endpoint !== "public" || t.namespace !== "@gateway")) expect(auth.allows("stranger", target)).toBe(false);
  });
});

describe("JWT identities", () => {
  const auth = createAuth(parseAuthConfig(config), "micro");
  const now = () => Math.floor(Date.now() / 1000);
  const bearer = async (claims: Record<string, unknown>) => new Headers({ authorization: `Bearer ${await sign({ iss: "tests", ...claims }, secret, "HS256")}` });

  it("accepts a token with a near exp", async () => {
    expect(await auth.authenticate(await bearer({ sub: "carol", exp: now() + 60 }))).toBe("carol");
  });

  it("refuses a token without exp, or one that expires further ahead than the maximum age", async () => {
    await expect(auth.authenticate(await bearer({ sub: "carol" }))).rejects.toThrow("it has no exp claim");
    await expect(auth.authenticate(await bearer({ sub: "carol", exp: now() + 2 * 86400 }))).rejects.toThrow("expires more than 86400 s from now");
    const lax = createAuth(parseAuthConfig({ ...config, jwt: { secret, issuer: "tests", requireExp: false, maxAgeSeconds: 10 } }), "micro");
    expect(await lax.authenticate(await bearer({ sub: "carol" }))).toBe("carol");
    await expect(lax.authenticate(await bearer({ sub: "carol", exp: now() + 60 }))).rejects.toThrow("expires more than 10 s");
  });

  it("refuses a token whose sub names an API-key identity, so it cannot borrow that key's rules", async () => {
    for (const sub of ["admin", "svc", "*"]) {
      await expect(auth.authenticate(await bearer({ sub, exp: now() + 60 }))).rejects.toThrow("names an API-key identity");
    }
  });

  it("refuses a token whose sub has spaces around it: NATS headers drop them, and a handler would see another identity", async () => {
    for (const sub of ["admin ", " svc", "carol\u00a0", "\u3000carol", "carol\ufeff"]) {
      await expect(auth.authenticate(await bearer({ sub, exp: now() + 60 }))).rejects.toThrow("its sub starts or ends with spaces");
    }
    expect(await auth.authenticate(await bearer({ sub: "carol smith", exp: now() + 60 }))).toBe("carol smith");
  });

    it("checks the new jwt settings in the auth file", () => {
    expect(() => parseAuthConfig({ ...config, jwt: { secret, requireExp: "no" } })).toThrow("jwt.requireExp must be true or false");
    expect(() => parseAuthConfig({ ...config, jwt: { secret, maxAgeSeconds: 0 } })).toThrow("jwt.maxAgeSeconds");
    expect(() => parseAuthConfig({ ...config, jwt: { secret, expiry: 1 } })).toThrow('unknown key "jwt.expiry"');
  });
});

describe("auth rules over HTTP", () => {
  // Refusals come before anything is sent: the transport is never used.
  const transport = {} as Transport;
  const app = createGateway({ transport, auth: config, allowedHosts: ["gw.test"] });
  const post = (path: string, key: string, body: unknown) =>
    app.fetch(new Request(`http://gw.test${path}`, { method: "POST", headers: { "x-api-key": key, "content-type": "application/json" }, body: JSON.stringify(body) }));

  it("never lets a rule for a gateway feature call a service of the same name", async () => {
    for (const [key, service] of [["k-dash", "dashboard"], ["k-side", "sidecar"], ["k-ev", "events"], ["k-hist", "history"]] as const) {
      expect((await post("/rpc", key, { service, endpoint: "deploy.Start" })).status).toBe(403);
      expect((await post(`/${service}/deploy/start`, key, {})).status).toBe(403);
    }
  });

  it("answers only the allowed hosts", async () => {
    const res = await app.fetch(new Request("http://evil.test/health"));
    expect(res.status).toBe(421);
    expect((await app.fetch(new Request("http://gw.test/health"))).status).toBe(200);
  });
});
