import { MicroError } from "../errors/micro-error.ts";
import { env } from "../platform/signals.ts";
import { assertNamespace, defaultNamespace } from "../protocol/mod.ts";
import type { RunnerConfig } from "./runner.ts";

/**
 * Runner settings from the environment (see the README's configuration table), with
 * `overrides` (from CLI flags) winning.
 */
export function runnerConfigFromEnv(overrides: Partial<RunnerConfig> = {}): RunnerConfig {
  const namespace = overrides.namespace ?? env("MICRO_NAMESPACE") ?? defaultNamespace;
  assertNamespace(namespace);
  return {
    servicesDir: overrides.servicesDir ?? env("MICRO_SERVICES_DIR") ?? "services",
    natsUrl: overrides.natsUrl ?? (env("NATS_URL") || undefined),
    natsStoreDir: overrides.natsStoreDir ?? env("MICRO_NATS_STORE_DIR") ?? ".micro/nats",
    natsPort: overrides.natsPort ?? whole("MICRO_NATS_PORT", 4222),
    namespace,
    events: overrides.events ?? {
      storage: storageFrom(env("MICRO_EVENTS_STORAGE")),
      maxAgeMs: whole("MICRO_EVENTS_MAX_AGE_MS", 0),
      replicas: whole("MICRO_EVENTS_REPLICAS", 1, 1),
    },
    gatewayPort: overrides.gatewayPort ?? whole("MICRO_GATEWAY_PORT", 8080),
    gatewayHost: overrides.gatewayHost ?? (env("MICRO_GATEWAY_HOST") || "127.0.0.1"),
    gatewayAuthFile: overrides.gatewayAuthFile ?? (env("MICRO_GATEWAY_AUTH_FILE") || undefined),
    gatewayForwardHeaders: overrides.gatewayForwardHeaders ?? headerNames("MICRO_GATEWAY_FORWARD_HEADERS"),
    gatewayCorsOrigins: overrides.gatewayCorsOrigins ?? corsOrigins(env("MICRO_GATEWAY_CORS_ORIGINS")),
    gatewayMaxBodyBytes: overrides.gatewayMaxBodyBytes ?? whole("MICRO_GATEWAY_MAX_BODY_BYTES", 1024 * 1024, 1),
    gatewayTimeoutMs: overrides.gatewayTimeoutMs ?? whole("MICRO_GATEWAY_TIMEOUT_MS", 10_000, 1),
    gatewayRpcNamespaces: overrides.gatewayRpcNamespaces ?? namespaces("MICRO_GATEWAY_RPC_NAMESPACES", namespace),
    nodeMetadata: overrides.nodeMetadata ?? pairs("MICRO_NODE_METADATA"),
    registryTtlMs: overrides.registryTtlMs ?? whole("MICRO_REGISTRY_TTL_MS", 15_000, 1000),
    drainTimeoutMs: overrides.drainTimeoutMs ?? whole("MICRO_DRAIN_TIMEOUT_MS", 10_000),
    log: overrides.log ?? ((line) => console.log(line)),
  };
}

function whole(name: string, fallback: number, min = 0): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new MicroError("invalid_argument", `${name} must be a whole number${min > 0 ? ` >= ${min}` : ""}, got "${raw}"`);
  }
  return value;
}

/** `k=v,k2=v2` into a record; `invalid_argument` naming the bad pair. */
function pairs(name: string): Record<string, string> {
  const raw = env(name);
  const out: Record<string, string> = {};
  if (!raw) return out;
  for (const pair of raw.split(",")) {
    const at = pair.indexOf("=");
    const key = pair.slice(0, at).trim();
    if (at <= 0 || !/^[A-Za-z0-9_.-]+$/.test(key)) {
      throw new MicroError("invalid_argument", `${name} must be key=value pairs separated by commas, got "${pair}"`);
    }
    out[key] = pair.slice(at + 1).trim();
  }
  return out;
}

function storageFrom(raw: string | undefined): "file" | "memory" {
  if (raw === undefined || raw === "" || raw === "file") return "file";
  if (raw === "memory") return "memory";
  throw new MicroError("invalid_argument", `MICRO_EVENTS_STORAGE must be file or memory, got "${raw}"`);
}

/** `X-Tenant, accept-language` into lower-case header names; `invalid_argument` naming a bad one. */
function headerNames(name: string): string[] | undefined {
  const raw = env(name);
  if (raw === undefined) return undefined;
  return raw.split(",").map((h) => h.trim().toLowerCase()).filter((h) => h !== "").map((h) => {
    if (!/^[a-z0-9_-]+$/.test(h) && h !== "x-micro-meta-*") throw new MicroError("invalid_argument", `${name} must be header names (or x-micro-meta-*) separated by commas, got "${h}"`);
    return h;
  });
}

/** `*` (default), `none`, or origins separated by commas. */
function corsOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return ["*"];
  if (raw.trim() === "none") return [];
  return raw.split(",").map((o) => o.trim()).filter((o) => o !== "");
}

/** Dotted namespaces separated by commas; `fallback` alone when unset. */
function namespaces(name: string, fallback: string): string[] {
  const raw = env(name);
  if (!raw) return [fallback];
  return raw.split(",").map((n) => n.trim()).filter((n) => n !== "").map((n) => {
    try {
      assertNamespace(n);
    } catch {
      throw new MicroError("invalid_argument", `${name} must be namespaces separated by commas, got "${n}"`);
    }
    return n;
  });
}
