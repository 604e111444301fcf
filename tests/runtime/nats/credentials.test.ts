import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { nkeys } from "@nats-io/nats-core";
import { Effect } from "effect";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient } from "../../../runtime/client/create-client.ts";
import { NatsTransport } from "../../../runtime/client/nats-transport.ts";
import { readSettings } from "../../../runtime/config/mod.ts";
import { MicroError } from "../../../runtime/errors/micro-error.ts";
import { connectNats, type NatsServerProcess, natsOptionsOf } from "../../../runtime/nats/mod.ts";
import { defineService, startService } from "../../../runtime/mod.ts";
import { runnerConfigFromEnv } from "../../../runtime/runner/config.ts";
import { layerRuntime, startServices } from "../../../runtime/runner/runner.ts";
import { micro } from "../../support/cli.ts";
import { rejection } from "../../support/rpc.ts";
import { makeCertificates, makeOperatorSetup, secretsDir, startSecuredNats, type TestCertificates } from "../../support/secured-nats.ts";
import { greeterModule, makeServicesDir } from "../../support/service-dirs.ts";

const secrets = secretsDir();
const services = makeServicesDir({ "secure.ts": greeterModule("secure-greeter") });
const userSeed = nkeys.createUser();
const servers: NatsServerProcess[] = [];
let certs: TestCertificates;

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  services.remove();
  secrets.remove();
});

async function server(config: string): Promise<NatsServerProcess> {
  const started = await startSecuredNats(config, secrets.dir);
  servers.push(started);
  return started;
}

type Env = Record<string, string | undefined>;

/**
 * Runs the runner (the folder's greeter service, its registry and event stream) and a client,
 * both with the settings in `env`, and returns what the call answered.
 */
async function callThrough(env: Env): Promise<string> {
  const config = runnerConfigFromEnv({ servicesDir: services.dir, namespace: "secured", log: () => {} }, { env });
  return await Effect.runPromise(
    Effect.gen(function* () {
      const running = yield* startServices(config);
      if (running.failures.length > 0) throw new Error(running.failures.map((f) => f.error).join("; "));
      return yield* Effect.promise(async () => {
        const nc = await connectNats(natsOptionsOf(readSettings({ env }), "credentials-test-client"));
        const transport = new NatsTransport(nc);
        try {
          return (await createClient(Greeter, transport, { namespace: "secured", service: "secure-greeter" }).sayHello({ name: "Ada" })).message;
        } finally {
          await transport.close();
          await nc.close();
        }
      });
    }).pipe(Effect.scoped, Effect.provide(layerRuntime(config))),
  );
}

/** Connecting with `env` fails fast, as `unavailable`, saying why and never showing `secret`. */
async function refused(env: Env, secret?: string): Promise<MicroError> {
  const started = Date.now();
  const error = await rejection(connectNats(natsOptionsOf(readSettings({ env }), "credentials-test-wrong")));
  expect(Date.now() - started).toBeLessThan(4_000);
  expect(error).toBeInstanceOf(MicroError);
  if (secret !== undefined) expect(error.message).not.toContain(secret);
  return error as MicroError;
}

const answer = "secure-greeter says hello to Ada";

describe("NATS user and password", () => {
  let url: string;
  beforeAll(async () => {
    url = (await server(`authorization { users: [ { user: "svc", password: "s3cret-pw" } ] }`)).url;
  });

  it("lets the runner and a client in with NATS_USER and NATS_PASSWORD", async () => {
    expect(await callThrough({ NATS_URL: url, NATS_USER: "svc", NATS_PASSWORD: "s3cret-pw" })).toBe(answer);
  }, 30_000);

  it("takes them from the URL too, and never prints the password", async () => {
    expect(await callThrough({ NATS_URL: url.replace("nats://", "nats://svc:s3cret-pw@") })).toBe(answer);
    const error = await refused({ NATS_URL: url.replace("nats://", "nats://svc:wrong-pw@") }, "wrong-pw");
    expect(error.message).toMatch(/authorization violation/i);
  }, 30_000);

  it("refuses a wrong password with the server's reason and what to check", async () => {
    const error = await refused({ NATS_URL: url, NATS_USER: "svc", NATS_PASSWORD: "not-it" }, "not-it");
    expect(error.code).toBe("unavailable");
    expect(error.message).toMatch(/authorization violation/i);
    expect(error.message).toContain("NATS_USER");
    expect(error.detail).toBe("credentials");
  });

  it("tells `micro` commands a server is there, so they do not suggest starting one", async () => {
    const wrong = await micro(["services"], { NATS_URL: url, NATS_USER: "svc", NATS_PASSWORD: "not-it", MICRO_NAMESPACE: "secured" });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/authorization violation.*check NATS_USER/i);
    expect(wrong.stderr).not.toContain("not-it");
    expect(wrong.stderr).not.toContain("micro run");
  }, 30_000);

  it("refuses a connection without credentials", async () => {
    expect((await refused({ NATS_URL: url })).message).toMatch(/authorization violation/i);
  });
});

describe("NATS token", () => {
  let url: string;
  beforeAll(async () => {
    url = (await server(`authorization { token: "tok-123456" }`)).url;
  });

  it("lets the runner and a client in with NATS_TOKEN, and refuses another token", async () => {
    expect(await callThrough({ NATS_URL: url, NATS_TOKEN: "tok-123456" })).toBe(answer);
    expect((await refused({ NATS_URL: url, NATS_TOKEN: "tok-wrong" }, "tok-wrong")).message).toMatch(/authorization violation/i);
  }, 30_000);
});

describe("NATS NKey", () => {
  let url: string;
  let seedFile: string;
  beforeAll(async () => {
    url = (await server(`authorization { users: [ { nkey: "${userSeed.getPublicKey()}" } ] }`)).url;
    seedFile = secrets.file("user.nk", `${new TextDecoder().decode(userSeed.getSeed())}\n`);
  });

  it("lets the runner and a client in with the seed file in NATS_NKEY", async () => {
    expect(await callThrough({ NATS_URL: url, NATS_NKEY: seedFile })).toBe(answer);
  }, 30_000);

  it("refuses another user's seed, and names a missing or malformed seed file", async () => {
    const stranger = secrets.file("stranger.nk", new TextDecoder().decode(nkeys.createUser().getSeed()));
    expect((await refused({ NATS_URL: url, NATS_NKEY: stranger })).message).toMatch(/authorization violation/i);
    const missing = await rejection(connectNats(natsOptionsOf(readSettings({ env: { NATS_URL: url, NATS_NKEY: "/nonexistent/user.nk" } }), "t")));
    expect([(missing as MicroError).code, missing.message]).toEqual(["invalid_argument", "NATS_NKEY file /nonexistent/user.nk: no such file"]);
    const malformed = secrets.file("bad.nk", "not a seed");
    expect((await rejection(connectNats(natsOptionsOf(readSettings({ env: { NATS_URL: url, NATS_NKEY: malformed } }), "t")))).message).toContain("must hold an NKey user seed");
  });
});

describe("NATS TLS", () => {
  let url: string;
  beforeAll(async () => {
    certs = makeCertificates(secrets.dir);
    url = (await server(`tls { cert_file: "${certs.serverCert}", key_file: "${certs.serverKey}", ca_file: "${certs.ca}", verify: true, timeout: 3 }`)).url;
  });

  it("lets the runner and a client in with NATS_CA, NATS_CERT and NATS_KEY", async () => {
    expect(await callThrough({ NATS_URL: url, NATS_CA: certs.ca, NATS_CERT: certs.clientCert, NATS_KEY: certs.clientKey })).toBe(answer);
  }, 30_000);

  it("fails fast when the server's certificate is not signed by NATS_CA", async () => {
    const error = await refused({ NATS_URL: url, NATS_CA: certs.otherCa, NATS_CERT: certs.clientCert, NATS_KEY: certs.clientKey });
    expect(error.message).toContain("NATS_CA");
    expect(error.detail).toBe("tls");
  });

  it("is refused without a client certificate when the server verifies clients", async () => {
    // The server says nothing here: the TLS handshake just never completes, so the connect timeout ends it.
    const error = await refused({ NATS_URL: url, NATS_CA: certs.ca, MICRO_CONNECT_TIMEOUT_MS: "2000" });
    expect(error.message).toContain("no answer within 2000 ms");
    expect(error.message).toContain("NATS_CERT");
  });

  it("names a certificate without its key as a settings error", () => {
    expect(() => readSettings({ env: { NATS_CERT: certs.clientCert } })).toThrow("NATS_CERT is set without NATS_KEY");
  });
});

describe("NATS .creds file", () => {
  const greeter = defineService(Greeter, { name: "creds-greeter" }, { sayHello: (req) => ({ message: `creds hello ${req.name}` }) });
  let url: string;
  let operator: ReturnType<typeof makeOperatorSetup>;
  beforeAll(async () => {
    operator = makeOperatorSetup(secrets.dir);
    // An operator-mode server with no JetStream: the account JWT here grants none.
    const started = await startSecuredNats(operator.config, secrets.dir, false);
    servers.push(started);
    url = started.url;
  });

  it("lets a service and a client in with NATS_CREDS", async () => {
    const service = await connectNats(natsOptionsOf(readSettings({ env: { NATS_URL: url, NATS_CREDS: operator.creds("service") } }), "creds-service"));
    const client = await connectNats(natsOptionsOf(readSettings({ env: { NATS_URL: url, NATS_CREDS: operator.creds("client") } }), "creds-client"));
    const serviceTransport = new NatsTransport(service);
    const transport = new NatsTransport(client);
    const instance = await startService(greeter, { connection: service, transport: serviceTransport, namespace: "creds" });
    try {
      expect((await createClient(Greeter, transport, { namespace: "creds", service: "creds-greeter" }).sayHello({ name: "Ada" })).message).toBe("creds hello Ada");
    } finally {
      await instance.stop();
      await Promise.all([serviceTransport.close(), transport.close()]);
      await Promise.all([service.close(), client.close()]);
    }
  });

  it("refuses a user signed by an account the server does not know, and names a file that is not a .creds file", async () => {
    await refused({ NATS_URL: url, NATS_CREDS: operator.creds("stranger", "stranger") });
    const notCreds = secrets.file("plain.creds", "hello");
    expect((await rejection(connectNats(natsOptionsOf(readSettings({ env: { NATS_URL: url, NATS_CREDS: notCreds } }), "t")))).message).toContain("is not a NATS .creds file");
  });
});

describe("NATS credential settings", () => {
  it("allow one way to log in, naming the clash", () => {
    expect(() => readSettings({ env: { NATS_TOKEN: "a", NATS_CREDS: "/x.creds" } })).toThrow("not NATS_TOKEN and NATS_CREDS");
    expect(() => readSettings({ env: { NATS_USER: "a" } })).toThrow("NATS_USER is set without NATS_PASSWORD");
  });

  it("come from micro.config.json too, under the environment", () => {
    const path = secrets.file("micro.config.json", JSON.stringify({ natsCreds: "/etc/nats/app.creds", natsCa: "/etc/nats/ca.pem", natsSecretFile: "/run/dev-secret" }));
    expect(readSettings({ env: { NATS_CA: "/env/ca.pem" }, configFile: path }).natsAuth).toEqual({
      user: undefined, password: undefined, token: undefined, nkeyFile: undefined,
      credsFile: "/etc/nats/app.creds", caFile: "/env/ca.pem", certFile: undefined, keyFile: undefined, secretFile: "/run/dev-secret",
    });
  });
});
