/**
 * The one reader of the standard `OTEL_EXPORTER_OTLP_*` variables that traces and metrics share:
 * protocol, endpoint URL and headers per signal, and whole-number settings. Each value is checked
 * here, once, at start: a bad one is `invalid_argument` naming the variable.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";

/** An environment to read settings from (`process.env`, or one a runner or test passes). */
export type Env = Readonly<Record<string, string | undefined>>;

/** The OTLP/HTTP encodings jetmicro exports in. */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** Where and how one signal is exported. */
export interface OtlpTarget {
  /** `OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`, else `http/protobuf`. */
  readonly protocol: OtlpProtocol;
  /** `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT` as is, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/{signal}`, else `http://localhost:4318/v1/{signal}`. */
  readonly url: string;
  /** `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_{SIGNAL}_HEADERS` (the latter wins). */
  readonly headers: Record<string, string>;
}

/** The protocol, URL and headers `env` gives one signal's export. */
export function otlpTarget(env: Env, signal: "traces" | "metrics"): OtlpTarget {
  const upper = signal.toUpperCase();
  const protocol = (env[`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (protocol !== "http/protobuf" && protocol !== "http/json") {
    throw new MicroError("invalid_argument", `OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (jetmicro exports over OTLP/HTTP), got "${protocol.slice(0, 40)}"`);
  }
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const url = env[`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`]?.trim() || `${(base || "http://localhost:4318").replace(/\/+$/, "")}/v1/${signal}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("not http");
  } catch {
    throw new MicroError("invalid_argument", `the OTLP ${signal} endpoint must be an http(s) URL, got "${url.slice(0, 200)}"`);
  }
  return { protocol, url, headers: { ...otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS), ...otlpHeaders(env[`OTEL_EXPORTER_OTLP_${upper}_HEADERS`]) } };
}

/** `OTEL_EXPORTER_OTLP_HEADERS`: `key=value` pairs separated by commas, values URL-encoded. */
export function otlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!raw) return headers;
  for (const pair of raw.split(",").slice(0, 64)) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    const key = pair.slice(0, at).trim();
    if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/.test(key)) continue;
    try {
      headers[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed escape: the header is left out rather than sent wrong.
    }
  }
  return headers;
}

/** A whole number from `variable` in `[min, max]`, or `fallback`; `invalid_argument` naming it otherwise. */
export function wholeSetting(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = env[variable]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new MicroError("invalid_argument", `${variable} must be a whole number from ${min} to ${max}, got "${raw.slice(0, 40)}"`);
  return n;
}
