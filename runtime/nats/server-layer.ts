/**
 * Where the NATS server of a run comes from, as an Effect service: the one at `NATS_URL`,
 * one already listening on the default local port, or a nats-server this process starts
 * (and stops when the scope closes). A server started here requires a generated secret (see
 * `dev-secret.ts`), which jetmicro's own processes pick up by themselves.
 * @module
 */
import { Context, Effect, Layer } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { redactNatsUrl } from "./connect-options.ts";
import { ensureDevSecret, writeDevServerConfig } from "./dev-secret.ts";
import { isNatsReachable, probeNatsServer, startNatsServer } from "./server-process.ts";

/** The NATS server a run uses. */
export interface NatsServerInfo {
  /** Client URL. */
  readonly url: string;
  /** True when this process started the server (and will stop it). */
  readonly startedHere: boolean;
}

/** Options for {@link layerNatsServer}. */
export interface NatsServerLayerOptions {
  /** Use this server (it must answer); from `NATS_URL`. */
  readonly url?: string;
  /** Store dir for a server started here; default `.micro/nats`. */
  readonly storeDir?: string;
  /** Where a local server is looked for, and the port of one started here (a free one when it is taken); default 4222. */
  readonly port?: number;
  /**
   * Secret file of a server started here (default `.micro/nats-secret`): generated once (mode
   * 0600), then required by the server as its token, so no other local process gets in.
   * `false` starts the server open (tests that want one).
   */
  readonly secretFile?: string | false;
  /** Progress lines ("starting nats-server ..."). */
  readonly log?: (line: string) => void;
}

/** The NATS server in use. */
export class NatsServer extends Context.Service<NatsServer, NatsServerInfo>()("jetmicro/NatsServer") {}


/** Finds or starts the NATS server; see the module doc. */
export function layerNatsServer(options: NatsServerLayerOptions = {}): Layer.Layer<NatsServer, MicroError> {
  return Layer.effect(
    NatsServer,
    Effect.gen(function* () {
      if (options.url !== undefined) {
        const url = options.url;
        const up = yield* Effect.promise(() => isNatsReachable(url));
        if (!up) return yield* Effect.fail(new MicroError("unavailable", `NATS_URL is ${redactNatsUrl(url)} but no NATS server answers there; start it or unset NATS_URL to let jetmicro start one`));
        return { url, startedHere: false };
      }
      const port = options.port ?? 4222;
      const localUrl = `nats://127.0.0.1:${port}`;
      const local = yield* Effect.promise(() => probeNatsServer(localUrl));
      if (local?.jetstream) return { url: localUrl, startedHere: false };
      // A server without JetStream (e.g. the Debian package's system service) cannot keep
      // events; leave it alone and start our own beside it.
      if (local !== undefined) options.log?.(`the NATS server at ${localUrl} has no JetStream; starting one on another port`);
      const storeDir = options.storeDir ?? ".micro/nats";
      options.log?.(`starting nats-server with JetStream (store ${storeDir})`);
      const secretFile = options.secretFile ?? ".micro/nats-secret";
      const args = yield* Effect.try({
        try: () => (secretFile === false ? [] : ["-c", writeDevServerConfig(secretFile, ensureDevSecret(secretFile))]),
        catch: (e) => new MicroError("unavailable", `cannot write the NATS secret ${String(secretFile)}: ${(e as Error).message}`),
      });
      const server = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => (local === undefined ? startNatsServer({ port, storeDir, install: true, args }) : Promise.reject(new Error("port taken")))
            .catch(() => startNatsServer({ storeDir, install: true, args })),
          catch: (e) => MicroError.from(e, "unavailable"),
        }),
        (server) => Effect.promise(() => server.stop()),
      );
      return { url: server.url, startedHere: true };
    }),
  );
}
