/**
 * The one map between error codes and HTTP statuses.
 *
 * It is the Connect protocol's table (connectrpc.com/docs/protocol, itself gRPC's HTTP
 * mapping), used alike by the REST routes, Connect, the sidecar and as the
 * `Nats-Service-Error-Code` number that NATS service clients in other languages read.
 * `failed_precondition` is 400, not 412: 412 means an HTTP conditional header failed.
 * @module
 */
import type { Code } from "../errors/code.ts";

const statusOf: Readonly<Record<Code, number>> = {
  canceled: 499,
  unknown: 500,
  invalid_argument: 400,
  deadline_exceeded: 504,
  not_found: 404,
  already_exists: 409,
  permission_denied: 403,
  // Mailbox full: 429 so HTTP clients back off and retry.
  resource_exhausted: 429,
  failed_precondition: 400,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
  unauthenticated: 401,
};

/** The HTTP status of a code (Connect's table). */
export function httpStatus(code: Code): number {
  return statusOf[code];
}

/**
 * The best code for an HTTP-like status number: what a NATS service in another language
 * meant by `Nats-Service-Error-Code`, or what an HTTP app behind the sidecar answered.
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
    case 413:
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
