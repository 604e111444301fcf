/**
 * The sidecar: jetmicro over plain HTTP for apps in any language (go-micro's `micro
 * sidecar`). An app registers a service and serves its calls as HTTP POSTs, calls other
 * services, publishes events and receives them by webhook; or the sidecar fronts an existing
 * HTTP app as a service, deregistering it while its health check fails.
 *
 * - {@link runSidecar}: the sidecar as a process (what `micro sidecar` runs).
 * - {@link createSidecar} + {@link createSidecarApp}: the same inside another program; the
 *   gateway mounts it at `/sidecar` when given one (`createGateway({ ..., sidecar })`).
 * @module
 */
export { runSidecar, type RunningSidecar, type RunSidecarOptions } from "./run.ts";
export { sidecarOptionsFromArgs, sidecarUsage } from "./options.ts";
export { createSidecar, type Sidecar, type SidecarOptions, type WebhookView } from "./sidecar.ts";
export { createSidecarApp } from "./routes.ts";
export type { HealthCheck, HostedServiceSpec, HostedServiceView, HostedState } from "./hosted-service.ts";
export type { JsonEndpoint } from "./json-service.ts";
export type { WebhookSpec } from "./webhooks.ts";
export { parseRegistration, parseSubscription } from "./requests.ts";
