/**
 * Every setting of a jetmicro process, in one record: what the runner, the CLI, `connectClient`
 * and the sidecar read, each from the same sources in the same order (see `sources.ts`). This
 * file is the table of settings: a variable's name, its key in `micro.config.json`, its default
 * and how its text becomes a value, with errors that name the variable and say what it takes.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, defaultNamespace } from "../protocol/mod.ts";

/** The settings of a process; see the README's configuration table. */
export interface Settings {
  /** NATS server(s) (`NATS_URL`, `natsUrl`); undefined: the runner finds or starts one, a client uses {@link natsUrlOf}. */
  readonly natsUrl: string | undefined;
  /** Namespace of services and events (`MICRO_NAMESPACE`, `micro`). */
  readonly namespace: string;
  /** Folder of service modules (`MICRO_SERVICES_DIR`, `services`). */
  readonly servicesDir: string;
  /** Store dir of a NATS server started here (`MICRO_NATS_STORE_DIR`, `.micro/nats`). */
  readonly natsStoreDir: string;
  /** Port of a NATS server started here, and where a local one is looked for (`MICRO_NATS_PORT`, 4222). */
  readonly natsPort: number;
  /** How long to wait for NATS before giving up, in ms (`MICRO_CONNECT_TIMEOUT_MS`, 5000). */
  readonly connectTimeoutMs: number;
  /** Event stream settings (`MICRO_EVENTS_STORAGE`, `MICRO_EVENTS_MAX_AGE_MS`, `MICRO_EVENTS_REPLICAS`). */
  readonly events: { readonly storage: "file" | "memory"; readonly maxAgeMs: number; readonly replicas: number };
  /** Port of the HTTP gateway (`MICRO_GATEWAY_PORT`, 8080); 0 runs none. */
  readonly gatewayPort: number;
  /** Address the gateway listens on (`MICRO_GATEWAY_HOST`, 127.0.0.1; `0.0.0.0` for every interface). */
  readonly gatewayHost: string;
  /** JSON file of gateway API keys, JWT secret and rules (`MICRO_GATEWAY_AUTH_FILE`); unset, auth is off. */
  readonly gatewayAuthFile?: string | undefined;
  /** Request headers the gateway passes to handlers as metadata (`MICRO_GATEWAY_FORWARD_HEADERS`). */
  readonly gatewayForwardHeaders?: readonly string[] | undefined;
  /** Origins the gateway's CORS allows (`MICRO_GATEWAY_CORS_ORIGINS`, `*`); empty turns CORS off. */
  readonly gatewayCorsOrigins?: readonly string[];
  /** Largest request body the gateway takes, in bytes (`MICRO_GATEWAY_MAX_BODY_BYTES`, 1 MiB). */
  readonly gatewayMaxBodyBytes?: number;
  /** Gateway call timeout in ms (`MICRO_GATEWAY_TIMEOUT_MS`, 10000). */
  readonly gatewayTimeoutMs?: number;
  /** Namespaces `POST /rpc` may call (`MICRO_GATEWAY_RPC_NAMESPACES`; default the namespace). */
  readonly gatewayRpcNamespaces?: readonly string[];
  /** The sidecar API at the gateway's `/sidecar` (`MICRO_GATEWAY_SIDECAR=1`); off by default. */
  readonly gatewaySidecar?: boolean;
  /** JSON replies of the gateway carry default-valued fields too (`MICRO_GATEWAY_EMIT_DEFAULTS=1`); off by default. */
  readonly gatewayEmitDefaults?: boolean;
  /** Metadata of the nodes this process starts (`MICRO_NODE_METADATA=zone=a,rack=2`). */
  readonly nodeMetadata: Readonly<Record<string, string>>;
  /** How long the registry keeps a node without a heartbeat, in ms (`MICRO_REGISTRY_TTL_MS`, 15000). */
  readonly registryTtlMs: number;
  /** Drain grace on stop, in ms (`MICRO_DRAIN_TIMEOUT_MS`, 10000). */
  readonly drainTimeoutMs: number;
  /**
   * Interceptor modules the runner puts around every service it runs (`MICRO_INTERCEPTORS`,
   * comma-separated; `"interceptors": ["./interceptors/log.ts"]`): each default-exports an
   * `Interceptor`. Paths are relative to the working directory.
   */
  readonly interceptorModules?: readonly string[];
}

/** One setting: its variable, its key in the config file, and how its text becomes a value. */
interface Setting {
  readonly variable: string;
  readonly key: string;
  /** What the file may hold: `string` values, `number`s, `list`s of strings, `pairs` (an object of strings) or a `flag` (boolean). */
  readonly file: "string" | "number" | "list" | "pairs" | "flag";
}

/** Every setting, by the field of {@link Settings} it fills. */
export const settingTable = {
  natsUrl: { variable: "NATS_URL", key: "natsUrl", file: "string" },
  namespace: { variable: "MICRO_NAMESPACE", key: "namespace", file: "string" },
  servicesDir: { variable: "MICRO_SERVICES_DIR", key: "servicesDir", file: "string" },
  natsStoreDir: { variable: "MICRO_NATS_STORE_DIR", key: "natsStoreDir", file: "string" },
  natsPort: { variable: "MICRO_NATS_PORT", key: "natsPort", file: "number" },
  connectTimeoutMs: { variable: "MICRO_CONNECT_TIMEOUT_MS", key: "connectTimeoutMs", file: "number" },
  eventsStorage: { variable: "MICRO_EVENTS_STORAGE", key: "eventsStorage", file: "string" },
  eventsMaxAgeMs: { variable: "MICRO_EVENTS_MAX_AGE_MS", key: "eventsMaxAgeMs", file: "number" },
  eventsReplicas: { variable: "MICRO_EVENTS_REPLICAS", key: "eventsReplicas", file: "number" },
  gatewayPort: { variable: "MICRO_GATEWAY_PORT", key: "gatewayPort", file: "number" },
  gatewayHost: { variable: "MICRO_GATEWAY_HOST", key: "gatewayHost", file: "string" },
  gatewayAuthFile: { variable: "MICRO_GATEWAY_AUTH_FILE", key: "gatewayAuthFile", file: "string" },
  gatewayForwardHeaders: { variable: "MICRO_GATEWAY_FORWARD_HEADERS", key: "gatewayForwardHeaders", file: "list" },
  gatewayCorsOrigins: { variable: "MICRO_GATEWAY_CORS_ORIGINS", key: "gatewayCorsOrigins", file: "list" },
  gatewayMaxBodyBytes: { variable: "MICRO_GATEWAY_MAX_BODY_BYTES", key: "gatewayMaxBodyBytes", file: "number" },
  gatewayTimeoutMs: { variable: "MICRO_GATEWAY_TIMEOUT_MS", key: "gatewayTimeoutMs", file: "number" },
  gatewayRpcNamespaces: { variable: "MICRO_GATEWAY_RPC_NAMESPACES", key: "gatewayRpcNamespaces", file: "list" },
  gatewaySidecar: { variable: "MICRO_GATEWAY_SIDECAR", key: "gatewaySidecar", file: "flag" },
  gatewayEmitDefaults: { variable: "MICRO_GATEWAY_EMIT_DEFAULTS", key: "gatewayEmitDefaults", file: "flag" },
  nodeMetadata: { variable: "MICRO_NODE_METADATA", key: "nodeMetadata", file: "pairs" },
  registryTtlMs: { variable: "MICRO_REGISTRY_TTL_MS", key: "registryTtlMs", file: "number" },
  drainTimeoutMs: { variable: "MICRO_DRAIN_TIMEOUT_MS", key: "drainTimeoutMs", file: "number" },
  interceptorModules: { variable: "MICRO_INTERCEPTORS", key: "interceptors", file: "list" },
} as const satisfies Record<string, Setting>;

/** A setting's name as {@link settingTable} keys it. */
export type SettingName = keyof typeof settingTable;

/** The raw text of each setting, as found (undefined when no source has it). */
export type RawSettings = Readonly<Record<SettingName, string | undefined>>;

/** How a setting is named in an error: its variable, or where in the config file it came from. */
export type Label = (name: SettingName) => string;

/**
 * The settings from their raw text, with defaults for what is missing; `invalid_argument`
 * naming the setting when one is wrong.
 */
export function settingsFromRaw(raw: RawSettings, label: Label = (name) => settingTable[name].variable): Settings {
  const text = (name: SettingName) => raw[name];
  const whole = (name: SettingName, fallback: number, min = 0) => {
    const value = text(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new MicroError("invalid_argument", `${label(name)} must be a whole number${min > 0 ? ` >= ${min}` : ""}, got "${value}"`);
    }
    return n;
  };
  const namespace = text("namespace") ?? defaultNamespace;
  assertNamespace(namespace);
  return {
    natsUrl: text("natsUrl"),
    namespace,
    servicesDir: text("servicesDir") ?? "services",
    natsStoreDir: text("natsStoreDir") ?? ".micro/nats",
    natsPort: whole("natsPort", 4222),
    connectTimeoutMs: whole("connectTimeoutMs", 5000, 1),
    events: {
      storage: storage(text("eventsStorage"), label("eventsStorage")),
      maxAgeMs: whole("eventsMaxAgeMs", 0),
      replicas: whole("eventsReplicas", 1, 1),
    },
    gatewayPort: whole("gatewayPort", 8080),
    gatewayHost: text("gatewayHost") ?? "127.0.0.1",
    gatewayAuthFile: text("gatewayAuthFile"),
    gatewayForwardHeaders: headerNames(text("gatewayForwardHeaders"), label("gatewayForwardHeaders")),
    gatewayCorsOrigins: corsOrigins(text("gatewayCorsOrigins")),
    gatewayMaxBodyBytes: whole("gatewayMaxBodyBytes", 1024 * 1024, 1),
    gatewayTimeoutMs: whole("gatewayTimeoutMs", 10_000, 1),
    gatewayRpcNamespaces: namespaces(text("gatewayRpcNamespaces"), label("gatewayRpcNamespaces"), namespace),
    gatewaySidecar: text("gatewaySidecar") === "1",
    gatewayEmitDefaults: text("gatewayEmitDefaults") === "1",
    nodeMetadata: pairs(text("nodeMetadata"), label("nodeMetadata")),
    registryTtlMs: whole("registryTtlMs", 15_000, 1000),
    drainTimeoutMs: whole("drainTimeoutMs", 10_000),
    interceptorModules: list(text("interceptorModules")),
  };
}

/**
 * The NATS URL to connect to: the setting, else a server on the local port (where `micro run`
 * finds or starts one).
 */
export function natsUrlOf(settings: Pick<Settings, "natsUrl" | "natsPort">): string {
  return settings.natsUrl ?? `nats://127.0.0.1:${settings.natsPort}`;
}

const list = (raw: string | undefined): string[] => (raw ?? "").split(",").map((v) => v.trim()).filter((v) => v !== "");

/** `k=v,k2=v2` into a record; `invalid_argument` naming the bad pair. */
function pairs(raw: string | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw === undefined ? [] : raw.split(",")) {
    const at = pair.indexOf("=");
    const key = pair.slice(0, at).trim();
    if (at <= 0 || !/^[A-Za-z0-9_.-]+$/.test(key)) {
      throw new MicroError("invalid_argument", `${what} must be key=value pairs separated by commas, got "${pair}"`);
    }
    out[key] = pair.slice(at + 1).trim();
  }
  return out;
}

function storage(raw: string | undefined, what: string): "file" | "memory" {
  if (raw === undefined || raw === "file") return "file";
  if (raw === "memory") return "memory";
  throw new MicroError("invalid_argument", `${what} must be file or memory, got "${raw}"`);
}

/** `X-Tenant, accept-language` into lower-case header names; `invalid_argument` naming a bad one. */
function headerNames(raw: string | undefined, what: string): string[] | undefined {
  if (raw === undefined) return undefined;
  return list(raw).map((h) => h.toLowerCase()).map((h) => {
    if (!/^[a-z0-9_-]+$/.test(h) && h !== "x-micro-meta-*") throw new MicroError("invalid_argument", `${what} must be header names (or x-micro-meta-*) separated by commas, got "${h}"`);
    return h;
  });
}

/** `*` (default), `none`, or origins separated by commas. */
function corsOrigins(raw: string | undefined): string[] {
  if (raw === undefined || raw.trim() === "") return ["*"];
  if (raw.trim() === "none") return [];
  return list(raw);
}

/** Dotted namespaces separated by commas; `fallback` alone when unset. */
function namespaces(raw: string | undefined, what: string, fallback: string): string[] {
  if (!raw) return [fallback];
  return list(raw).map((n) => {
    try {
      assertNamespace(n);
    } catch {
      throw new MicroError("invalid_argument", `${what} must be namespaces separated by commas, got "${n}"`);
    }
    return n;
  });
}
