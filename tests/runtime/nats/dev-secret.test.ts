import { afterAll, describe, expect, it } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { Effect } from "effect";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { connectClient } from "../../../runtime/client/connect.ts";
import { createClient } from "../../../runtime/client/create-client.ts";
import { NatsTransport } from "../../../runtime/client/nats-transport.ts";
import { readSettings } from "../../../runtime/config/mod.ts";
import { connectNats, isNatsReachable, natsConnectOptions, natsOptionsOf } from "../../../runtime/nats/mod.ts";
import { NatsServer } from "../../../runtime/nats/server-layer.ts";
import { runnerConfigFromEnv } from "../../../runtime/runner/config.ts";
import { layerRuntime, startServices } from "../../../runtime/runner/runner.ts";
import { rejection } from "../../support/rpc.ts";
import { secretsDir } from "../../support/secured-nats.ts";
import { freePort, greeterModule, makeServicesDir } from "../../support/service-dirs.ts";

const secrets = secretsDir();
const services = makeServicesDir({ "dev.ts": greeterModule("dev-greeter") });
afterAll(() => {
  services.remove();
  secrets.remove();
});

describe("the nats-server jetmicro starts for development", () => {
  it("requires a generated secret (mode 0600) that the runner and clients use by themselves, and no one else has", async () => {
    const port = await freePort();
    const secretFile = join(secrets.dir, "micro", "nats-secret");
    const env = { MICRO_NATS_PORT: String(port), MICRO_NATS_STORE_DIR: join(secrets.dir, "store"), MICRO_NATS_SECRET_FILE: secretFile };
    const config = runnerConfigFromEnv({ servicesDir: services.dir, namespace: "devsecret", log: () => {} }, { env });
    const outcome = await Effect.runPromise(
      Effect.gen(function* () {
        const server = yield* NatsServer;
        yield* startServices(config);
        return yield* Effect.promise(async () => {
          const mode = statSync(secretFile).mode & 0o777;
          const secret = readFileSync(secretFile, "utf8").trim();
          // Our own client: no credentials set, a loopback server, so the secret is used.
          const nc = await connectNats(natsOptionsOf(readSettings({ env }), "dev-secret-test"));
          const transport = new NatsTransport(nc);
          const answer = (await createClient(Greeter, transport, { namespace: "devsecret", service: "dev-greeter" }).sayHello({ name: "Ada" })).message;
          await transport.close();
          await nc.close();
          // Any other local process: no secret, no entry.
          const stranger = await rejection(connect({ servers: server.url, timeout: 3000 }));
          return { startedHere: server.startedHere, mode, secretLength: secret.length, answer, stranger: stranger.message };
        });
      }).pipe(Effect.scoped, Effect.provide(layerRuntime(config))),
    );
    expect(outcome).toEqual({ startedHere: true, mode: 0o600, secretLength: 43, answer: "dev-greeter says hello to Ada", stranger: expect.stringMatching(/authorization violation/i) });
    expect(statSync(join(secrets.dir, "micro", "nats-server.conf")).mode & 0o777).toBe(0o600);
    expect(await isNatsReachable(`nats://127.0.0.1:${port}`, 300)).toBe(false);
  }, 60_000);

  it("keeps the secret across runs, and connectClient finds it through MICRO_NATS_SECRET_FILE", async () => {
    const port = await freePort();
    const secretFile = join(secrets.dir, "again", "nats-secret");
    const env = { MICRO_NATS_PORT: String(port), MICRO_NATS_STORE_DIR: join(secrets.dir, "store-again"), MICRO_NATS_SECRET_FILE: secretFile };
    const config = runnerConfigFromEnv({ servicesDir: services.dir, namespace: "devsecret", log: () => {} }, { env });
    const run = () =>
      Effect.runPromise(
        Effect.gen(function* () {
          yield* startServices(config);
          return readFileSync(secretFile, "utf8");
        }).pipe(Effect.scoped, Effect.provide(layerRuntime(config))),
      );
    const first = await run();
    const second = await run();
    expect(second).toBe(first);

    // connectClient reads the process environment, as an app would.
    const saved = { ...process.env };
    Object.assign(process.env, { NATS_URL: "", ...env });
    try {
      const answer = await Effect.runPromise(
        Effect.gen(function* () {
          yield* startServices(config);
          return yield* Effect.promise(async () => {
            const micro = await connectClient({ namespace: "devsecret" });
            try {
              return (await micro.client(Greeter, { service: "dev-greeter" }).sayHello({ name: "Bo" })).message;
            } finally {
              await micro.close();
            }
          });
        }).pipe(Effect.scoped, Effect.provide(layerRuntime(config))),
      );
      expect(answer).toBe("dev-greeter says hello to Bo");
    } finally {
      for (const key of ["NATS_URL", ...Object.keys(env)]) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  }, 60_000);

  it("is never offered to a server that is not on this machine", () => {
    const file = secrets.file("offered", "would-leak\n");
    expect(natsConnectOptions({ servers: "nats://10.1.2.3:4222", auth: { secretFile: file } }).authenticator).toBeUndefined();
    expect(natsConnectOptions({ servers: "nats://127.0.0.1:4222", auth: { secretFile: file } }).authenticator).toBeDefined();
  });
});
