/**
 * Connection settings of the CLI, from (highest first) flags, environment variables (the
 * runtime's own names), a config file, then defaults. See the README's CLI configuration table.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { MicroError } from "../runtime/errors/micro-error.ts";
import { env } from "../runtime/platform/signals.ts";
import { assertNamespace, defaultNamespace } from "../runtime/protocol/mod.ts";

/** The file read from the working directory when `--config` is not given. */
export const defaultConfigFile = "micro.config.json";

/** What the CLI connects with. */
export interface CliSettings {
  /** NATS server(s). */
  readonly natsUrl: string;
  readonly namespace: string;
  /** How long to wait for NATS before giving up, in ms. */
  readonly connectTimeoutMs: number;
  /** Registry TTL, so opening the registry bucket never shortens the runner's. */
  readonly registryTtlMs: number;
}

/** The flags every command accepts that shape the connection. */
export interface ConnectionFlags {
  readonly natsUrl?: string | undefined;
  readonly namespace?: string | undefined;
  readonly config?: string | undefined;
}

/** Keys a config file may hold (all optional). */
const fileKeys = ["natsUrl", "namespace", "connectTimeoutMs", "registryTtlMs"] as const;

/** Settings from flags, env, config file and defaults; `invalid_argument` naming a bad value or file. */
export function resolveSettings(flags: ConnectionFlags): CliSettings {
  const file = readConfigFile(flags.config);
  const natsUrl = flags.natsUrl ?? (env("NATS_URL") || undefined) ?? stringIn(file, "natsUrl") ?? `nats://127.0.0.1:${env("MICRO_NATS_PORT") || 4222}`;
  const namespace = flags.namespace ?? (env("MICRO_NAMESPACE") || undefined) ?? stringIn(file, "namespace") ?? defaultNamespace;
  assertNamespace(namespace);
  return {
    natsUrl,
    namespace,
    connectTimeoutMs: wholeSetting("MICRO_CONNECT_TIMEOUT_MS", file, "connectTimeoutMs", 5000),
    registryTtlMs: wholeSetting("MICRO_REGISTRY_TTL_MS", file, "registryTtlMs", 15_000),
  };
}

/** The config file's object (`{}` when the default file does not exist); `invalid_argument` when it is bad. */
export function readConfigFile(path: string | undefined): Record<string, unknown> {
  const file = resolve(path ?? defaultConfigFile);
  if (path === undefined && !existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new MicroError("invalid_argument", `config file ${file}: ${reason}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MicroError("invalid_argument", `config file ${file} must hold a JSON object such as {"natsUrl": "nats://127.0.0.1:4222"}`);
  }
  for (const key of Object.keys(parsed)) {
    if (!(fileKeys as readonly string[]).includes(key)) {
      throw new MicroError("invalid_argument", `config file ${file}: unknown key "${key}" (known: ${fileKeys.join(", ")})`);
    }
  }
  return parsed as Record<string, unknown>;
}

function stringIn(file: Record<string, unknown>, key: string): string | undefined {
  const value = file[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw new MicroError("invalid_argument", `config file: "${key}" must be a non-empty string`);
  return value;
}

function wholeSetting(name: string, file: Record<string, unknown>, key: string, fallback: number): number {
  const raw = env(name) || file[key];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new MicroError("invalid_argument", `${name} (or "${key}") must be a whole number of ms >= 1, got "${raw}"`);
  return value;
}
