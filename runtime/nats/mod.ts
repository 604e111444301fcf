/**
 * A local nats-server for development and tests: find or install the executable, start it as
 * a child process on a free port with JetStream in a temp dir, and probe whether a `NATS_URL`
 * is already served. Production deployments point `NATS_URL` at their own servers instead.
 * @module
 */
export { type EnsureNatsServerOptions, ensureNatsServerBinary, findNatsServerBinary } from "./server-binary.ts";
export {
  isNatsReachable,
  type NatsServerHello,
  type NatsServerProcess,
  probeNatsServer,
  startNatsServer,
  type StartNatsServerOptions,
} from "./server-process.ts";
export { connectNats, layerNats, Nats } from "./connection.ts";
export { natsConnectOptions, type NatsOptions, natsOptionsOf, redactNatsUrl } from "./connect-options.ts";
export { ensureDevSecret, readDevSecret } from "./dev-secret.ts";
export { layerNatsServer, NatsServer, type NatsServerInfo, type NatsServerLayerOptions } from "./server-layer.ts";
