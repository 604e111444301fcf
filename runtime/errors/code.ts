/**
 * The closed set of error codes every jetmicro call can fail with.
 *
 * The set is gRPC's (and connect-es's), spelled in snake_case so it reads the same in JSON,
 * NATS headers and logs. Each code has one HTTP status, used by the gateway and carried as
 * `Nats-Service-Error-Code` so NATS service clients see a familiar number.
 * @module
 */

/** Every error code, in gRPC order. */
export const codes = [
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;

/** One error code from {@link codes}. */
export type Code = (typeof codes)[number];

const codeSet: ReadonlySet<string> = new Set(codes);

/** True when `value` is one of the known {@link Code}s. */
export function isCode(value: unknown): value is Code {
  return typeof value === "string" && codeSet.has(value);
}

/**
 * The HTTP status for a code: the one place where codes map to HTTP.
 * Mailbox full (`resource_exhausted`) is 429 so HTTP clients back off and retry.
 */
export function httpStatus(code: Code): number {
  switch (code) {
    case "canceled":
      return 499;
    case "unknown":
      return 500;
    case "invalid_argument":
      return 400;
    case "deadline_exceeded":
      return 504;
    case "not_found":
      return 404;
    case "already_exists":
      return 409;
    case "permission_denied":
      return 403;
    case "resource_exhausted":
      return 429;
    case "failed_precondition":
      return 412;
    case "aborted":
      return 409;
    case "out_of_range":
      return 400;
    case "unimplemented":
      return 501;
    case "internal":
      return 500;
    case "unavailable":
      return 503;
    case "data_loss":
      return 500;
    case "unauthenticated":
      return 401;
  }
}

/**
 * The best code for an HTTP-like status number, used when a NATS service written in another
 * language answers with only `Nats-Service-Error-Code`.
 */
export function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return "invalid_argument";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "not_found";
    case 408:
    case 504:
      return "deadline_exceeded";
    case 409:
      return "aborted";
    case 412:
      return "failed_precondition";
    case 429:
      return "resource_exhausted";
    case 499:
      return "canceled";
    case 501:
      return "unimplemented";
    case 503:
      return "unavailable";
    default:
      return status >= 400 && status < 500 ? "invalid_argument" : status >= 500 ? "internal" : "unknown";
  }
}
