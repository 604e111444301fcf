/**
 * Every setting of a jetmicro process, in one record: what the runner, the CLI, `connectClient`
 * and the sidecar read, each from the same sources in the same order (see `sources.ts`). This
 * file is the table of settings: a variable's name, its key in `micro.config.json`, its default
 * and how its text becomes a value, with errors that name the variable and say what it takes.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, defaultNamespace } from "../protocol/mod.ts";
import { parseNatsServers } from "./nats-servers.ts";
import { maxTimerMs } from "./time.ts";

/** The settings of a process; see the README's configuration table. */
export interface Settings {
  /**
   * NATS server(s) (`NATS_URL`, `natsUrl`): one URL, or a cluster's URLs separated by commas (a
   * JSON list in the config file), checked and normalised to `a,b,c`; undefined: the runner
   * finds or starts one, a client uses {@link natsUrlOf}.
   */
  readonly natsUrl: string | undefined;
  /** Credentials and TLS of every NATS connection (`NATS_USER`, `NATS_TOKEN`, `NATS_CREDS`, `NATS_CA`, ...). */
  readonly natsAuth: NatsAuthSettings;
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
  /**
   * Replicas of every stream and KV bucket jetmicro creates (`MICRO_REPLICAS`, 1; 3 or 5 on a
   * cluster): the event stream and its DLQ, the actor stream and buckets, the registry and the
   * routing rules. At most the number of JetStream servers in the cluster.
   */
  readonly replicas: number;
  /** Event stream settings (`MICRO_EVENTS_STORAGE`, `MICRO_EVENTS_MAX_AGE_MS`, `MICRO_EVENTS_REPLICAS`, which overrides `MICRO_REPLICAS` for events). */
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
  /** Live event streams the gateway keeps open at once, each a JetStream consumer (`MICRO_GATEWAY_MAX_EVENT_STREAMS`, 1000). */
  readonly gatewayMaxEventStreams?: number;
  /** Of those, the most one authenticated identity holds (`MICRO_GATEWAY_MAX_EVENT_STREAMS_PER_IDENTITY`, 100). */
  readonly gatewayMaxEventStreamsPerIdentity?: number;
  /** Gateway call timeout in ms (`MICRO_GATEWAY_TIMEOUT_MS`, 10000). */
  readonly gatewayTimeoutMs?: number;
  /** Namespaces `POST /rpc` may call (`MICRO_GATEWAY_RPC_NAMESPACES`; default the namespace). */
  readonly gatewayRpcNamespaces?: readonly string[];
  /** The sidecar API at the gateway's `/sidecar` (`MICRO_GATEWAY_SIDECAR=1`); off by default. */
  readonly gatewaySidecar?: boolean;
  /**
   * Lets the gateway listen beyond loopback with no auth file (`MICRO_GATEWAY_INSECURE=1`);
   * without it, a non-loopback `MICRO_GATEWAY_HOST` and no `MICRO_GATEWAY_AUTH_FILE` refuse to start.
   */
  readonly gatewayInsecure?: boolean;
  /** Host names the gateway answers (`MICRO_GATEWAY_ALLOWED_HOSTS`, e.g. `api.example.com,localhost`); unset, any. */
  readonly gatewayAllowedHosts?: readonly string[] | undefined;
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
  /** Port of the runner's Prometheus `/metrics` (`MICRO_METRICS_PORT`, 0 = none). The gateway serves `/metrics` when this is set too. */
  readonly metricsPort?: number;
  /** Log line format (`MICRO_LOG_FORMAT`: `pretty` or `json`; pretty). */
  readonly logFormat?: "pretty" | "json";
  /** Lowest level logged (`MICRO_LOG_LEVEL`, `--log-level`: debug, info, warn, error; info). */
  readonly logLevel?: "debug" | "info" | "warn" | "error";
  /** Most success lines logged per second (`MICRO_LOG_SAMPLE_PER_SECOND`, 100); failures are always logged. */
  readonly logSamplePerSecond?: number;
}

/**
 * How a process proves itself to NATS, in the NATS CLI's words. At most one way to log in
 * (user and password, token, NKey seed file or `.creds` file); TLS is independent of it. With
 * none set, credentials in the URL (`nats://user:pass@host`, `nats://token@host`) are used,
 * and for a loopback server, the secret of the server `micro run` starts ({@link secretFile}).
 */
export interface NatsAuthSettings {
  /** User name (`NATS_USER`, `natsUser`); needs {@link password}. */
  readonly user?: string | undefined;
  /** Password (`NATS_PASSWORD`, `natsPassword`). */
  readonly password?: string | undefined;
  /** Token (`NATS_TOKEN`, `natsToken`). */
  readonly token?: string | undefined;
  /** File holding an NKey user seed, `SU...` (`NATS_NKEY`, `natsNkey`). */
  readonly nkeyFile?: string | undefined;
  /** A `.creds` file (user JWT and seed) as `nsc` writes it (`NATS_CREDS`, `natsCreds`). */
  readonly credsFile?: string | undefined;
  /** CA certificate (PEM) the server's certificate must chain to (`NATS_CA`, `natsCa`); turns TLS on. */
  readonly caFile?: string | undefined;
  /** Client certificate (PEM) for servers that verify clients (`NATS_CERT`, `natsCert`); needs {@link keyFile}. */
  readonly certFile?: string | undefined;
  /** The client certificate's private key (PEM) (`NATS_KEY`, `natsKey`). */
  readonly keyFile?: string | undefined;
  /**
   * The generated secret of the nats-server `micro run` starts (`MICRO_NATS_SECRET_FILE`,
   * `.micro/nats-secret`), created mode 0600; jetmicro's processes use it for a loopback
   * server when no other credentials are set.
   */
  readonly secretFile: string;
}

/** One setting: its variable, its key in the config file, and how its text becomes a value. */
interface Setting {
  readonly variable: string;
  readonly key: string;
  /** What the file may hold: `string` values, `number`s, `list`s of strings, `pairs` (an object of strings), a `flag` (boolean) or `servers` (a string or a list of strings). */
  readonly file: "string" | "number" | "list" | "pairs" | "flag" | "servers";
}

/** Every setting, by the field of {@link Settings} it fills. */
export const settingTable = {
  natsUrl: { variable: "NATS_URL", key: "natsUrl", file: "servers" },
  natsUser: { variable: "NATS_USER", key: "natsUser", file: "string" },
  natsPassword: { variable: "NATS_PASSWORD", key: "natsPassword", file: "string" },
  natsToken: { variable: "NATS_TOKEN", key: "natsToken", file: "string" },
  natsNkey: { variable: "NATS_NKEY", key: "natsNkey", file: "string" },
  natsCreds: { variable: "NATS_CREDS", key: "natsCreds", file: "string" },
  natsCa: { variable: "NATS_CA", key: "natsCa", file: "string" },
  natsCert: { variable: "NATS_CERT", key: "natsCert", file: "string" },
  natsKey: { variable: "NATS_KEY", key: "natsKey", file: "string" },
  natsSecretFile: { variable: "MICRO_NATS_SECRET_FILE", key: "natsSecretFile", file: "string" },
  namespace: { variable: "MICRO_NAMESPACE", key: "namespace", file: "string" },
  servicesDir: { variable: "MICRO_SERVICES_DIR", key: "servicesDir", file: "string" },
  natsStoreDir: { variable: "MICRO_NATS_STORE_DIR", key: "natsStoreDir", file: "string" },
  natsPort: { variable: "MICRO_NATS_PORT", key: "natsPort", file: "number" },
  connectTimeoutMs: { variable: "MICRO_CONNECT_TIMEOUT_MS", key: "connectTimeoutMs", file: "number" },
  eventsStorage: { variable: "MICRO_EVENTS_STORAGE", key: "eventsStorage", file: "string" },
  eventsMaxAgeMs: { variable: "MICRO_EVENTS_MAX_AGE_MS", key: "eventsMaxAgeMs", file: "number" },
  replicas: { variable: "MICRO_REPLICAS", key: "replicas", file: "number" },
  eventsReplicas: { variable: "MICRO_EVENTS_REPLICAS", key: "eventsReplicas", file: "number" },
  gatewayPort: { variable: "MICRO_GATEWAY_PORT", key: "gatewayPort", file: "number" },
  gatewayHost: { variable: "MICRO_GATEWAY_HOST", key: "gatewayHost", file: "string" },
  gatewayAuthFile: { variable: "MICRO_GATEWAY_AUTH_FILE", key: "gatewayAuthFile", file: "string" },
  gatewayForwardHeaders: { variable: "MICRO_GATEWAY_FORWARD_HEADERS", key: "gatewayForwardHeaders", file: "list" },
  gatewayCorsOrigins: { variable: "MICRO_GATEWAY_CORS_ORIGINS", key: "gatewayCorsOrigins", file: "list" },
  gatewayMaxBodyBytes: { variable: "MICRO_GATEWAY_MAX_BODY_BYTES", key: "gatewayMaxBodyBytes", file: "number" },
  gatewayMaxEventStreams: { variable: "MICRO_GATEWAY_MAX_EVENT_STREAMS", key: "gatewayMaxEventStreams", file: "number" },
  gatewayMaxEventStreamsPerIdentity: { variable: "MICRO_GATEWAY_MAX_EVENT_STREAMS_PER_IDENTITY", key: "gatewayMaxEventStreamsPerIdentity", file: "number" },
  gatewayTimeoutMs: { variable: "MICRO_GATEWAY_TIMEOUT_MS", key: "gatewayTimeoutMs", file: "number" },
  gatewayRpcNamespaces: { variable: "MICRO_GATEWAY_RPC_NAMESPACES", key: "gatewayRpcNamespaces", file: "list" },
  gatewaySidecar: { variable: "MICRO_GATEWAY_SIDECAR", key: "gatewaySidecar", file: "flag" },
  gatewayInsecure: { variable: "MICRO_GATEWAY_INSECURE", key: "gatewayInsecure", file: "flag" },
  gatewayAllowedHosts: { variable: "MICRO_GATEWAY_ALLOWED_HOSTS", key: "gatewayAllowedHosts", file: "list" },
  gatewayEmitDefaults: { variable: "MICRO_GATEWAY_EMIT_DEFAULTS", key: "gatewayEmitDefaults", file: "flag" },
  nodeMetadata: { variable: "MICRO_NODE_METADATA", key: "nodeMetadata", file: "pairs" },
  registryTtlMs: { variable: "MICRO_REGISTRY_TTL_MS", key: "registryTtlMs", file: "number" },
  drainTimeoutMs: { variable: "MICRO_DRAIN_TIMEOUT_MS", key: "drainTimeoutMs", file: "number" },
  interceptorModules: { variable: "MICRO_INTERCEPTORS", key: "interceptors", file: "list" },
  metricsPort: { variable: "MICRO_METRICS_PORT", key: "metricsPort", file: "number" },
  logFormat: { variable: "MICRO_LOG_FORMAT", key: "logFormat", file: "string" },
  logLevel: { variable: "MICRO_LOG_LEVEL", key: "logLevel", file: "string" },
  logSamplePerSecond: { variable: "MICRO_LOG_SAMPLE_PER_SECOND", key: "logSamplePerSecond", file: "number" },
} as const satisfies Record<string, Setting>;

/** A setting's name as {@link settingTable} keys it. */
export type SettingName = keyof typeof settingTable;

/** The raw text of each setting, as found (undefined when no source has it). */
export type RawSettings = Readonly<Record<SettingName, string | undefined>>;

/** How a setting is named in an error: its variable, or where in the config file it came from. */
export type Label = (name: SettingName) => string;

/** Largest TCP port. A port above it was taken, then refused later as a bad NATS_URL the user never set. */
const maxPort = 65_535;


/**
 * The settings from their raw text, with defaults for what is missing; `invalid_argument`
 * naming the setting when one is wrong.
 */
export function settingsFromRaw(raw: RawSettings, label: Label = (name) => settingTable[name].variable): Settings {
  const text = (name: SettingName) => raw[name];
  const whole = (name: SettingName, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
    const value = text(name);
    if (value === undefined) return fallback;
    // Number() reads blank text as 0: MICRO_GATEWAY_PORT=" " silently ran no gateway.
    const n = value.trim() === "" ? Number.NaN : Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` >= ${min}` : "";
      throw new MicroError("invalid_argument", `${label(name)} must be a whole number${range}, got "${value}"`);
    }
    return n;
  };
  const namespace = text("namespace") ?? defaultNamespace;
  assertNamespace(namespace);
  const natsUrl = text("natsUrl");
  // JetStream caps replicas at 5.
  const replicas = whole("replicas", 1, 1, 5);
  return {
    natsUrl: natsUrl === undefined ? undefined : parseNatsServers(natsUrl, label("natsUrl")).join(","),
    natsAuth: natsAuth(text, label),
    namespace,
    servicesDir: text("servicesDir") ?? "services",
    natsStoreDir: text("natsStoreDir") ?? ".micro/nats",
    natsPort: whole("natsPort", 4222, 0, maxPort),
    connectTimeoutMs: whole("connectTimeoutMs", 5000, 1, maxTimerMs),
    events: {
      storage: storage(text("eventsStorage"), label("eventsStorage")),
      maxAgeMs: whole("eventsMaxAgeMs", 0),
      replicas: whole("eventsReplicas", replicas, 1, 5),
    },
    gatewayPort: whole("gatewayPort", 8080, 0, maxPort),
    gatewayHost: text("gatewayHost") ?? "127.0.0.1",
    gatewayAuthFile: text("gatewayAuthFile"),
    gatewayForwardHeaders: headerNames(text("gatewayForwardHeaders"), label("gatewayForwardHeaders")),
    gatewayCorsOrigins: corsOrigins(text("gatewayCorsOrigins")),
    gatewayMaxBodyBytes: whole("gatewayMaxBodyBytes", 1024 * 1024, 1),
    gatewayMaxEventStreams: whole("gatewayMaxEventStreams", 1000, 1),
    gatewayMaxEventStreamsPerIdentity: whole("gatewayMaxEventStreamsPerIdentity", 100, 1),
    gatewayTimeoutMs: whole("gatewayTimeoutMs", 10_000, 1, maxTimerMs),
    gatewayRpcNamespaces: namespaces(text("gatewayRpcNamespaces"), label("gatewayRpcNamespaces"), namespace),
    gatewaySidecar: text("gatewaySidecar") === "1",
    gatewayInsecure: text("gatewayInsecure") === "1",
    gatewayAllowedHosts: hostNames(text("gatewayAllowedHosts"), label("gatewayAllowedHosts")),
    gatewayEmitDefaults: text("gatewayEmitDefaults") === "1",
    nodeMetadata: pairs(text("nodeMetadata"), label("nodeMetadata")),
    registryTtlMs: whole("registryTtlMs", 15_000, 1000, maxTimerMs),
    // A stop is bounded by the drain plus a second (cli/run.ts), itself a timer.
    drainTimeoutMs: whole("drainTimeoutMs", 10_000, 0, maxTimerMs - 1000),
    replicas,
    interceptorModules: list(text("interceptorModules")),
    metricsPort: whole("metricsPort", 0, 0, maxPort),
    logFormat: oneOf(text("logFormat"), ["pretty", "json"] as const, "pretty", label("logFormat")),
    logLevel: oneOf(text("logLevel"), ["debug", "info", "warn", "error"] as const, "info", label("logLevel")),
    logSamplePerSecond: whole("logSamplePerSecond", 100),
  };
}

/**
 * The NATS URL to connect to: the setting, else a server on the local port (where `micro run`
 * finds or starts one).
 */
export function natsUrlOf(settings: Pick<Settings, "natsUrl" | "natsPort">): string {
  return settings.natsUrl ?? `nats://127.0.0.1:${settings.natsPort}`;
}

/** The NATS credentials; `invalid_argument` naming the settings that clash or go missing. */
function natsAuth(text: (name: SettingName) => string | undefined, label: Label): NatsAuthSettings {
  const auth = {
    user: text("natsUser"),
    password: text("natsPassword"),
    token: text("natsToken"),
    nkeyFile: text("natsNkey"),
    credsFile: text("natsCreds"),
    caFile: text("natsCa"),
    certFile: text("natsCert"),
    keyFile: text("natsKey"),
    secretFile: text("natsSecretFile") ?? ".micro/nats-secret",
  };
  const logins = (["natsUser", "natsToken", "natsNkey", "natsCreds"] as const).filter((name) => text(name) !== undefined);
  if (logins.length > 1) {
    throw new MicroError("invalid_argument", `set one way to log in to NATS, not ${logins.map(label).join(" and ")}`);
  }
  if ((auth.user === undefined) !== (auth.password === undefined)) {
    throw new MicroError("invalid_argument", `${label(auth.user === undefined ? "natsPassword" : "natsUser")} is set without ${label(auth.user === undefined ? "natsUser" : "natsPassword")}; set both or neither`);
  }
  if ((auth.certFile === undefined) !== (auth.keyFile === undefined)) {
    throw new MicroError("invalid_argument", `${label(auth.certFile === undefined ? "natsKey" : "natsCert")} is set without ${label(auth.certFile === undefined ? "natsCert" : "natsKey")}; a client certificate needs its key`);
  }
  return auth;
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
    // Set on a plain object it would be dropped without a word (it names the prototype).
    if (key === "__proto__") throw new MicroError("invalid_argument", `${what}: "__proto__" cannot be a key`);
    out[key] = pair.slice(at + 1).trim();
  }
  return out;
}

/** One of `choices` (case-insensitive), `fallback` when unset; `invalid_argument` naming the setting. */
function oneOf<T extends string>(raw: string | undefined, choices: readonly T[], fallback: T, what: string): T {
  if (raw === undefined) return fallback;
  const value = raw.trim().toLowerCase();
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new MicroError("invalid_argument", `${what} must be one of ${choices.join(", ")}, got "${raw.slice(0, 40)}"`);
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

/** `none`, `*` or origins separated by commas (`loopback` among them); unset, undefined. */
function corsOrigins(raw: string | undefined): string[] | undefined {
  // Unset, the gateway chooses by its exposure (`gateway/exposure.ts`).
  if (raw === undefined || raw.trim() === "") return undefined;
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

/** Host names (optionally `:port`) separated by commas, lower case; undefined when unset. */
function hostNames(raw: string | undefined, what: string): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  return list(raw).map((h) => {
    const host = h.toLowerCase();
    if (!/^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:[0-9]{1,5})?$/.test(host) || host.length > 253) {
      throw new MicroError("invalid_argument", `${what} must be host names separated by commas (e.g. api.example.com,localhost), got "${h}"`);
    }
    return host;
  });
}
