/**
 * Every NATS header name jetmicro writes or reads: requests, replies, errors, stream frames,
 * actor commands, events and dead letters. No other module spells a header name.
 *
 * Requests and replies are NATS messages whose payload is the protobuf message (binary, or
 * protobuf JSON) and whose headers carry the rest.
 * @module
 */

// ---- Requests and replies -------------------------------------------------------------

/** `application/proto` (default) or `application/json`; replies use the request's type. */
export const contentTypeHeader = "Content-Type";
/** Protobuf binary. */
export const protoContentType = "application/proto";
/** Protobuf JSON mapping. */
export const jsonContentType = "application/json";
/** Milliseconds the caller will still wait; the handler's deadline is derived from it. */
export const timeoutHeader = "Micro-Timeout";
/** Prefix of caller metadata headers: `Micro-Meta-User: 42` is metadata `user=42`. */
export const metadataPrefix = "Micro-Meta-";
/** The service instance that made the call, when it was made from a handler. */
export const fromHeader = "Micro-From";
/** W3C Trace Context: the caller's span (`00-<trace id>-<span id>-<flags>`), on calls, streams, events and actor commands. */
export const traceparentHeader = "traceparent";
/** W3C Trace Context: vendor trace state, travelling with `traceparent`. */
export const tracestateHeader = "tracestate";
/**
 * `1` asks a JSON reply to carry fields at their default values too (`0`, `""`, `false`,
 * `[]`): protobuf JSON leaves them out unless asked, and only the service can ask its encoder.
 */
export const emitDefaultsHeader = "Micro-Emit-Defaults";

// ---- Errors (unary replies, stream error frames and actor replies alike) -----------------

/** Error message, as NATS service libraries (Go, Rust, Java, JS) send and read it. */
export const natsErrorHeader = "Nats-Service-Error";
/** Error status number (HTTP-like), as NATS service libraries send and read it. */
export const natsErrorCodeHeader = "Nats-Service-Error-Code";
/** The jetmicro error code (`invalid_argument`, ...), exact where the number is ambiguous. */
export const errorCodeHeader = "Micro-Error-Code";

// ---- Streams (see ../stream/protocol.ts for the frame rules) ------------------------------

/** On the open request: marks it as a stream open rather than a unary call. */
export const streamHeader = "Micro-Stream";
/** Kind of a control frame: `open`, `end`, `error`, `credit`, `ping`, `cancel` or `batch`. */
export const frameHeader = "Micro-Frame";
/** On open and accept: how many data frames the sender of this header will buffer. */
export const windowHeader = "Micro-Stream-Window";
/** On open: the heartbeat interval in ms both sides use. */
export const heartbeatHeader = "Micro-Stream-Heartbeat";
/** On a `credit` frame: how many more data frames the peer may send. */
export const creditHeader = "Micro-Credit";
/**
 * On open and accept: how many data bytes (message payloads, not framing) the sender of this
 * header will buffer, beside its message window. A peer that does not announce one is counted
 * in messages only (older jetmicro), and is not held to this end's byte window either.
 */
export const windowBytesHeader = "Micro-Stream-Window-Bytes";
/** On a `credit` frame, beside `Micro-Credit`: how many more data bytes the peer may send. */
export const creditBytesHeader = "Micro-Credit-Bytes";
/** On open and accept: `1` when the sender of this header reads `batch` frames (many data messages in one NATS message). */
export const batchHeader = "Micro-Stream-Batch";

// ---- JetStream ---------------------------------------------------------------------------

/** The message id JetStream deduplicates on (events, actor commands, dead letters). */
export const msgIdHeader = "Nats-Msg-Id";
/** The revision a KV write expects its key to be at (0: the key must not exist); else the stream refuses it. */
export const expectedLastSubjectSeqHeader = "Nats-Expected-Last-Subject-Sequence";
/** On a KV bucket's stream message: `DEL` or `PURGE` for a removal; absent for a put. */
export const kvOperationHeader = "KV-Operation";

// ---- Keyed actors ------------------------------------------------------------------------

/** The endpoint a persisted command calls (`Cart.AddItem`), or `$reminder`. */
export const actorEndpointHeader = "Micro-Actor-Endpoint";
/** Where the owner sends the reply. */
export const actorReplyHeader = "Micro-Actor-Reply";
/**
 * The reply subject of the router's own caller, stored with the command: the owner answers
 * there too, so the caller gets its reply even when the router that stored the command died.
 */
export const actorCallerReplyHeader = "Micro-Actor-Caller-Reply";
/** Present when the caller gave an idempotency key, so the reply is kept for its retries. */
export const actorIdempotentHeader = "Micro-Actor-Idempotent";
/** The name of the reminder that fired. */
export const actorReminderHeader = "Micro-Actor-Reminder";

// ---- Events ------------------------------------------------------------------------------

/** Header names of the event envelope, readable from any language. */
export const eventHeaders = {
  id: msgIdHeader, // JetStream deduplicates on it
  topic: "Micro-Event-Topic",
  source: "Micro-Event-Source",
  sourceVersion: "Micro-Event-Source-Version",
  time: "Micro-Event-Time",
  user: "Micro-Event-User",
  contentType: contentTypeHeader,
  traceparent: traceparentHeader,
} as const;
/** The original event id on dead-lettered and re-driven copies (whose `Nats-Msg-Id` is the copy's). */
export const originalEventIdHeader = "Micro-Event-Id";

/** Header names a dead letter adds to the copy of the failed event. */
export const deadLetterHeaders = {
  prefix: "Micro-Dead-Letter-",
  error: "Micro-Dead-Letter-Error",
  consumer: "Micro-Dead-Letter-Consumer",
  sequence: "Micro-Dead-Letter-Sequence",
  deliveries: "Micro-Dead-Letter-Deliveries",
  /**
   * On a letter holding no payload because the copy would pass the NATS max payload: the stream
   * whose message `sequence` holds the event.
   */
  storedIn: "Micro-Dead-Letter-Stored-In",
} as const;
