/**
 * Header names of the wire format. Requests and replies are NATS messages whose payload is
 * the protobuf message (binary, or protobuf JSON) and whose headers carry the rest.
 * @module
 */

/** `application/proto` (default) or `application/json`; replies use the request's type. */
export const contentTypeHeader = "Content-Type";
/** Protobuf binary. */
export const protoContentType = "application/proto";
/** Protobuf JSON mapping. */
export const jsonContentType = "application/json";

/** Milliseconds the caller will still wait; the handler's deadline is derived from it. */
export const timeoutHeader = "Micro-Timeout";
/** The longest timeout (about 24.8 days): the longest delay JavaScript timers can wait. */
export const maxTimeoutMs = 2 ** 31 - 1;
/** Prefix of caller metadata headers: `Micro-Meta-User: 42` is metadata `user=42`. */
export const metadataPrefix = "Micro-Meta-";
/** The service instance that made the call, when it was made from a handler. */
export const fromHeader = "Micro-From";

/** Error message, as NATS service libraries (Go, Rust, Java, JS) send and read it. */
export const natsErrorHeader = "Nats-Service-Error";
/** Error status number (HTTP-like), as NATS service libraries send and read it. */
export const natsErrorCodeHeader = "Nats-Service-Error-Code";
/** The jetmicro error code (`invalid_argument`, ...), exact where the number is ambiguous. */
export const errorCodeHeader = "Micro-Error-Code";
