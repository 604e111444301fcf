/**
 * `jetmicro/gateway`: the HTTP gateway as a Hono app, to embed in a server of your own or to
 * extend with parts. `micro run` starts the same app; this entry is for custom processes
 * (for example a gateway-only deployment).
 *
 * @example
 * ```ts
 * import { connectClient, serveHttp } from "jetmicro";
 * import { createGateway } from "jetmicro/gateway";
 *
 * const micro = await connectClient({ servers: process.env.NATS_URL });
 * const app = createGateway({ transport: micro.transport });
 * await serveHttp(app.fetch, { port: 8080, hostname: "0.0.0.0" });
 * ```
 * @module
 */
export { createGateway, type GatewayOptions, gatewayParts } from "./app.ts";
export { type Auth, type AuthConfig, type AuthTarget, createAuth, loadAuthFile, parseAuthConfig } from "./auth.ts";
export { createAuthorize, defaultForwardHeaders, publicRoute } from "./authorization.ts";
export type { Authorize, GatewayDeps, GatewayEnv, GatewayPart, GatewayVariables } from "./part.ts";
export { createSidecar, createSidecarApp, runSidecar, type RunningSidecar, type RunSidecarOptions, type Sidecar, type SidecarOptions } from "./sidecar/mod.ts";
export { createNatsOperator, type NatsOperatorOptions } from "./dashboard/nats-operator.ts";
export type { EndpointStatus, NodeStatus, OperatorSource, WeightsStatus } from "./dashboard/operator.ts";
