import { type Code, isCode } from "./code.ts";

/** Options for {@link MicroError}. */
export interface MicroErrorOptions {
  /** Extra detail for machines (a field name, a limit); shown to callers. */
  readonly detail?: string;
  /** The id of the service instance that raised the error (`greeter@1.0.0/abc`). */
  readonly serviceId?: string;
  /** Key/value metadata that travels with the error. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** The original error, kept locally and never sent over the wire. */
  readonly cause?: unknown;
}

/**
 * The one error class of jetmicro: a {@link Code}, a human message and optional detail.
 *
 * Handlers throw it to answer with a specific code; anything else they throw reaches the
 * caller as `internal` with the message only (never a stack trace). Clients always reject
 * with a `MicroError`.
 *
 * @example
 * ```ts
 * throw new MicroError("not_found", `no user ${req.id}`);
 * ```
 */
export class MicroError extends Error {
  /** The error code. */
  readonly code: Code;
  /** Machine-readable detail, when there is one. */
  readonly detail: string | undefined;
  /** The service instance that raised it, when known. */
  readonly serviceId: string | undefined;
  /** Metadata carried with the error. */
  readonly metadata: Readonly<Record<string, string>>;

  constructor(code: Code, message: string, options: MicroErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MicroError";
    this.code = code;
    this.detail = options.detail;
    this.serviceId = options.serviceId;
    this.metadata = options.metadata ?? {};
  }

  /**
   * Normalises anything thrown into a `MicroError`: a `MicroError` is returned as is, an
   * object shaped like one (`{code, message}`, for example parsed from JSON) keeps its code,
   * an abort becomes `canceled`, everything else becomes `fallback` (default `internal`)
   * with the original message.
   */
  static from(reason: unknown, fallback: Code = "internal"): MicroError {
    if (reason instanceof MicroError) return reason;
    if (MicroError.is(reason)) {
      return new MicroError(reason.code, reason.message, {
        detail: reason.detail,
        serviceId: reason.serviceId,
        metadata: reason.metadata,
        cause: reason.cause,
      });
    }
    if (reason instanceof Error) {
      if (reason.name === "AbortError") return new MicroError("canceled", reason.message || "call canceled", { cause: reason });
      if (reason.name === "TimeoutError") return new MicroError("deadline_exceeded", reason.message, { cause: reason });
      return new MicroError(fallback, reason.message || reason.name, { cause: reason });
    }
    if (typeof reason === "object" && reason !== null) {
      const r = reason as Record<string, unknown>;
      const code = isCode(r.code) ? r.code : fallback;
      const message = typeof r.message === "string" ? r.message : String(r.detail ?? code);
      return new MicroError(code, message, {
        detail: typeof r.detail === "string" ? r.detail : undefined,
        serviceId: typeof r.serviceId === "string" ? r.serviceId : undefined,
      });
    }
    return new MicroError(fallback, typeof reason === "string" ? reason : String(reason));
  }

  /**
   * True for a `MicroError`, including one made by another copy of this module (a service
   * module loaded as CommonJS next to the ESM runtime, say), where `instanceof` says no.
   */
  static is(value: unknown): value is MicroError {
    return value instanceof MicroError ||
      (value instanceof Error && value.name === "MicroError" && isCode((value as { code?: unknown }).code));
  }

  /** The JSON form sent on the wire and by the gateway (no stack, no cause). */
  toJSON(): { code: Code; message: string; detail?: string; serviceId?: string } {
    const json: { code: Code; message: string; detail?: string; serviceId?: string } = {
      code: this.code,
      message: this.message,
    };
    if (this.detail !== undefined) json.detail = this.detail;
    if (this.serviceId !== undefined) json.serviceId = this.serviceId;
    return json;
  }
}
