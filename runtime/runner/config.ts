import { MicroError } from "../errors/micro-error.ts";
import { env } from "../platform/signals.ts";
import { assertNamespace, defaultNamespace } from "../wire/subject.ts";
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
