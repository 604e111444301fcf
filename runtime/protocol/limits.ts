/**
 * Bounds on everything jetmicro puts on the wire, checked before anything reaches NATS.
 *
 * nats-server closes a connection whose control line (`HPUB <subject> <reply> <sizes>`) is
 * over its `max_control_line` (4096 bytes by default): one over-long subject from one caller
 * would drop the connection that every service of the process shares. Subjects are therefore
 * bounded well below that, leaving room for the reply inbox and the sizes.
 * @module
 */

/** Longest subject jetmicro publishes to or subscribes on (bytes, ASCII only). */
export const maxSubjectLength = 1024;
/** Longest single subject token (a service name, a node id, an actor key, a topic part). */
export const maxTokenLength = 256;
/** Most tokens in one subject (a topic like `orders.eu.created` counts 3). */
export const maxSubjectTokens = 32;

/** Most metadata entries one call carries. */
export const maxMetadataEntries = 64;
/** Longest metadata key (without the `Micro-Meta-` prefix). */
export const maxMetadataKeyLength = 64;
/** Longest metadata value. */
export const maxMetadataValueLength = 4096;

/** Longest error text sent in a header or kept in stats: a message must never outgrow a payload. */
export const maxErrorText = 1024;
/** Longest error detail sent on the wire. */
export const maxErrorDetail = 256;

/** The longest timeout (about 24.8 days): the longest delay JavaScript timers can wait. */
export const maxTimeoutMs = 2 ** 31 - 1;
