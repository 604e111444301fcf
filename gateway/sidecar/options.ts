/**
 * `runSidecar` options from command-line flags and `MICRO_SIDECAR_*` variables (flags win),
 * shared by `gateway/sidecar/main.ts` and the `micro sidecar` command.
 * @module
 */
import { MicroError } from "../../runtime/mod.ts";
import type { RunSidecarOptions } from "./run.ts";

/** Usage text of the flags {@link sidecarOptionsFromArgs} reads. */
export const sidecarUsage = `usage: micro sidecar [flags]

Serves the sidecar HTTP API (/sidecar/registry, /rpc, /events, /subscriptions) so apps in any
language use jetmicro over HTTP. With --app it also fronts that HTTP app as a service.

flags (environment variable in brackets):
  --port N               API port, default 8081; 0 picks a free one   [MICRO_SIDECAR_PORT]
  --host ADDR            API address, default 127.0.0.1               [MICRO_SIDECAR_HOST]
  --nats URL             NATS server, else found or started           [NATS_URL]
  --namespace NS         namespace, default micro                     [MICRO_NAMESPACE]
  --app URL              fronting mode: the app, http://127.0.0.1:5000 [MICRO_SIDECAR_APP]
  --name NAME            fronting mode: service name                  [MICRO_SIDECAR_NAME]
  --version V            fronting mode: version, default latest       [MICRO_SIDECAR_VERSION]
  --endpoint E[=/path]   fronting mode: endpoint forwarded to POST {app}{path}
                         (default path /E); repeat or separate by commas [MICRO_SIDECAR_ENDPOINTS]
  --metadata k=v         fronting mode: service metadata; repeatable  [MICRO_SIDECAR_METADATA]
  --health /path         fronting mode: health path polled; unhealthy = deregistered [MICRO_SIDECAR_HEALTH]
  --health-interval MS   time between health checks, default 5000     [MICRO_SIDECAR_HEALTH_INTERVAL_MS]
  --concurrency N        fronting mode: calls sent to the app at once, default 100 [MICRO_SIDECAR_CONCURRENCY]`;

const valueFlags = ["port", "host", "nats", "namespace", "app", "name", "version", "endpoint", "metadata", "health", "health-interval", "concurrency"] as const;
type Flag = (typeof valueFlags)[number];

/**
 * Reads flags (`--name orders` or `--name=orders`) and, for what they leave out, the
 * environment. Unknown flags and bad values are `invalid_argument` naming them.
 */
export function sidecarOptionsFromArgs(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): RunSidecarOptions {
  const flags = new Map<Flag, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw bad(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)) as Flag;
    if (!valueFlags.includes(name)) throw bad(`unknown flag "--${name}"`);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || (eq === -1 && value.startsWith("--"))) throw bad(`--${name} needs a value`);
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  const one = (flag: Flag, variable: string): string | undefined => flags.get(flag)?.at(-1) ?? (env[variable] || undefined);
  const list = (flag: Flag, variable: string): string[] =>
    (flags.get(flag) ?? (env[variable] ? [env[variable]!] : [])).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");

  const port = one("port", "MICRO_SIDECAR_PORT");
  const interval = one("health-interval", "MICRO_SIDECAR_HEALTH_INTERVAL_MS");
  const concurrency = one("concurrency", "MICRO_SIDECAR_CONCURRENCY");
  const endpoints = list("endpoint", "MICRO_SIDECAR_ENDPOINTS").map((e) => {
    const at = e.indexOf("=");
    return at === -1 ? e : { name: e.slice(0, at), path: e.slice(at + 1) };
  });
  const metadata: Record<string, string> = {};
  for (const pair of list("metadata", "MICRO_SIDECAR_METADATA")) {
    const at = pair.indexOf("=");
    if (at <= 0) throw bad(`--metadata takes key=value, got "${pair}"`);
    metadata[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const options: Record<string, unknown> = {
    port: port === undefined ? undefined : whole(port, "--port / MICRO_SIDECAR_PORT", 0),
    host: one("host", "MICRO_SIDECAR_HOST"),
    natsUrl: one("nats", "NATS_URL"),
    namespace: one("namespace", "MICRO_NAMESPACE"),
    app: one("app", "MICRO_SIDECAR_APP"),
    name: one("name", "MICRO_SIDECAR_NAME"),
    version: one("version", "MICRO_SIDECAR_VERSION"),
    endpoints: endpoints.length === 0 ? undefined : endpoints,
    metadata: Object.keys(metadata).length === 0 ? undefined : metadata,
    health: one("health", "MICRO_SIDECAR_HEALTH"),
    healthIntervalMs: interval === undefined ? undefined : whole(interval, "--health-interval / MICRO_SIDECAR_HEALTH_INTERVAL_MS", 100),
    concurrency: concurrency === undefined ? undefined : whole(concurrency, "--concurrency / MICRO_SIDECAR_CONCURRENCY", 1),
  };
  for (const key of Object.keys(options)) if (options[key] === undefined) delete options[key];
  return options as RunSidecarOptions;
}

function whole(raw: string, what: string, min: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min) throw bad(`${what} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}

function bad(message: string): MicroError {
  return new MicroError("invalid_argument", message);
}
