/**
 * Instance liveness on the wire: every service instance publishes an empty message on
 * `{ns}.alive.{service}.{nodeId}` every {@link heartbeatEveryMs}; a caller holding a call on a node that
 * has been silent for {@link nodeGoneAfterMs} treats the node as gone, once its NATS server has
 * confirmed the silence (`runtime/client/node-liveness.ts`). The registry's TTL
 * (15 s) is far too slow for that: a caller would wait out its whole deadline on a call the
 * crashed node will never answer.
 *
 * The numbers are a trade: a handler that blocks its event loop longer than
 * {@link nodeGoneAfterMs} looks dead (its callers of non-idempotent methods get `unavailable`
 * although it may still answer), while a real crash is noticed within about 1.5 s.
 * @module
 */

/** How often an instance says it is alive, in ms. */
export const heartbeatEveryMs = 250;

/** Silence after which a node that was heard before counts as gone, in ms (five heartbeats). */
export const nodeGoneAfterMs = 1250;

/** `metadata.reason` of the `unavailable` error of a call whose node went silent while holding it. */
export const nodeGoneReason = "node-gone";
