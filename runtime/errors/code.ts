/**
 * The closed set of error codes every jetmicro call can fail with.
 *
 * The set is gRPC's (and connect-es's), spelled in snake_case so it reads the same in JSON,
 * NATS headers and logs. Their HTTP statuses
 * live with the rest of the wire protocol (`runtime/protocol/status.ts`).
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
