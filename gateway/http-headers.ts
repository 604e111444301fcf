/**
 * Every HTTP header name the gateway and the sidecar read or write themselves, in one place.
 * These are HTTP names only: NATS header names belong to `runtime/protocol/headers.ts`, and
 * no gateway module spells one.
 * @module
 */

/** Request id, echoed on every answer (`request-id.ts` reads and sets it). */
export const requestIdHeader = "x-request-id";
/** Milliseconds a caller will wait (the gateway's timeout lowered for one call). */
export const timeoutHeader = "x-micro-timeout";
/** Prefix of headers carried as call metadata: `X-Micro-Meta-Tenant: a` is metadata `tenant=a`. */
export const metaHeaderPrefix = "x-micro-meta-";
/** On an event publish: the user the event is about (indexed by the audit service). */
export const eventUserHeader = "x-micro-user";
/** On an event publish: its id, so a retried publish is stored once. */
export const eventIdHeader = "x-event-id";
/** On a sidecar event publish: the app that publishes it. */
export const eventSourceHeader = "x-micro-source";
/** API key credential. */
export const apiKeyHeader = "x-api-key";
/** Bearer credential (API key or JWT). */
export const authorizationHeader = "authorization";
/** Connect protocol: the caller's timeout in ms. */
export const connectTimeoutHeader = "connect-timeout-ms";
/** Connect protocol: its version. */
export const connectVersionHeader = "connect-protocol-version";

/** Headers a browser may send cross-origin to the gateway (besides the forwarded ones). */
export const corsAllowedHeaders: readonly string[] = [
  "Content-Type", "Authorization", "X-API-Key", "X-Request-Id", "X-Micro-Timeout", "X-Event-Id", "X-Micro-User", "Connect-Protocol-Version", "Connect-Timeout-Ms",
  "X-Micro-Version", "X-Micro-Key", "X-Micro-Labels", "X-Micro-Emit-Defaults",
];

// To the app behind the sidecar: what is called, and how long the caller waits.
/** To a sidecar app: the service called. */
export const appServiceHeader = "x-micro-service";
/** To a sidecar app: the endpoint called. */
export const appEndpointHeader = "x-micro-endpoint";
/** To a webhook: the event id. */
export const webhookEventIdHeader = "x-micro-event-id";
/** To a webhook: the event topic. */
export const webhookEventTopicHeader = "x-micro-event-topic";
/** To a webhook: how many times the event was delivered. */
export const webhookDeliveriesHeader = "x-micro-event-deliveries";

// Routing of one call (see `route-options.ts`): which nodes of the service may answer it.
/** Only nodes running exactly this version (routing-rule weights are then not followed). */
export const routeVersionHeader = "x-micro-version";
/** Calls with the same key reach the same node while the node set is stable. */
export const routeKeyHeader = "x-micro-key";
/** `1` (or query `emit_defaults=true`): JSON replies carry default-valued fields too. */
export const emitDefaultsHeader = "x-micro-emit-defaults";
/** Only nodes whose metadata has these values: `zone=a,rack=r1`. */
export const routeLabelsHeader = "x-micro-labels";
