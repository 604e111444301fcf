/**
 * The one place that turns settings into nats.js connection options: servers, credentials
 * (user and password, token, NKey seed, `.creds` file, or those in the URL) and TLS. Every
 * connection jetmicro opens (runner, client, CLI, gateway, sidecar, bench) goes through
 * {@link natsConnectOptions}, so a secured NATS works everywhere or nowhere.
 *
 * Secrets never leave this module in text: errors name the setting or the file, and URLs are
 * shown through {@link redactNatsUrl}.
 * @module
 */
import {
  type Authenticator,
  type ConnectionOptions,
  credsAuthenticator,
  nkeyAuthenticator,
  type TlsOptions,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
} from "@nats-io/nats-core";
import { type NatsAuthSettings, type SettingName, type Settings, settingTable } from "../config/mod.ts";
import { parseNatsServers, redactNatsUrl } from "../config/nats-servers.ts";
import { MicroError } from "../errors/micro-error.ts";
import { readFileBounded } from "../platform/bounded-file.ts";
import { readDevSecret } from "./dev-secret.ts";

/** Connection settings. */
export interface NatsOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222`; may carry credentials (`nats://user:pass@host`). */
  readonly servers: string | readonly string[];
  /** Client name shown by the server (`nats server report connections`). */
  readonly name?: string;
  /** How long to wait for the first connection, in ms (nats.js default: 20000). */
  readonly timeoutMs?: number;
  /** Credentials and TLS (see {@link NatsAuthSettings}); none: those in the URL, if any. */
  readonly auth?: Partial<NatsAuthSettings>;
}

/**
 * The {@link NatsOptions} of a process from its settings: the URL (or the local server), the
 * credentials and TLS, and the connect timeout.
 */
export function natsOptionsOf(settings: Pick<Settings, "natsUrl" | "natsPort" | "natsAuth" | "connectTimeoutMs">, name: string, servers?: string): NatsOptions {
  return { servers: servers ?? settings.natsUrl ?? `nats://127.0.0.1:${settings.natsPort}`, name, auth: settings.natsAuth, timeoutMs: settings.connectTimeoutMs };
}

/**
 * nats.js options for `options`: credentials taken out of the URLs, one authenticator for the
 * way to log in that is set, and TLS when a CA, a client certificate or a `tls://` URL asks
 * for it. `invalid_argument` naming the setting when a file is missing or is not what it
 * should be.
 */
export function natsConnectOptions(options: NatsOptions): ConnectionOptions {
  const parsed = parseNatsServers(options.servers).map(splitCredentials);
  const servers = parsed.map((p) => p.url);
  const auth = options.auth ?? {};
  const authenticator = authenticatorOf(auth, parsed.find((p) => p.user !== undefined), servers);
  const tls = tlsOf(auth, servers);
  return {
    servers,
    name: options.name ?? "jetmicro",
    noAsyncTraces: true,
    maxReconnectAttempts: -1,
    // Short waits between attempts: a cluster node that died is replaced by another at once.
    reconnectTimeWait: 250,
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(authenticator === undefined ? {} : { authenticator }),
    ...(tls === undefined ? {} : { tls }),
  };
}

export { redactNatsUrl };

interface ParsedServer {
  readonly url: string;
  readonly user?: string;
  readonly pass?: string;
}

/** `nats://user:pass@host:4222` → the URL without them, and them. */
function splitCredentials(entry: string): ParsedServer {
  const at = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(entry);
  if (at === null) return { url: entry };
  const [, scheme, userinfo, rest] = at as unknown as [string, string, string, string];
  const colon = userinfo.indexOf(":");
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new MicroError("invalid_argument", `${settingTable.natsUrl.variable} has badly escaped credentials in ${redactNatsUrl(entry)}`);
    }
  };
  return colon < 0 ? { url: scheme + rest, user: decode(userinfo) } : { url: scheme + rest, user: decode(userinfo.slice(0, colon)), pass: decode(userinfo.slice(colon + 1)) };
}

function authenticatorOf(auth: Partial<NatsAuthSettings>, inUrl: ParsedServer | undefined, servers: readonly string[]): Authenticator | undefined {
  if (auth.user !== undefined) return usernamePasswordAuthenticator(auth.user, auth.password ?? "");
  if (auth.token !== undefined) return tokenAuthenticator(auth.token);
  if (auth.nkeyFile !== undefined) return nkeyAuthenticator(nkeySeed(auth.nkeyFile));
  if (auth.credsFile !== undefined) return credsAuthenticator(credsFile(auth.credsFile));
  if (inUrl?.user !== undefined) return inUrl.pass === undefined ? tokenAuthenticator(inUrl.user) : usernamePasswordAuthenticator(inUrl.user, inUrl.pass);
  // The dev server's secret is only ever offered to this machine.
  if (auth.secretFile !== undefined && servers.length > 0 && servers.every(isLoopback)) {
    const secret = readDevSecret(auth.secretFile);
    if (secret !== undefined) return tokenAuthenticator(secret);
  }
  return undefined;
}

function tlsOf(auth: Partial<NatsAuthSettings>, servers: readonly string[]): TlsOptions | undefined {
  const wanted = auth.caFile !== undefined || auth.certFile !== undefined || servers.some((s) => /^tls:\/\//i.test(s));
  if (!wanted) return undefined;
  // Read now, so a wrong path is a clear setting error rather than a failed handshake later.
  if (auth.caFile !== undefined) readSettingFile("natsCa", auth.caFile);
  if (auth.certFile !== undefined) readSettingFile("natsCert", auth.certFile);
  if (auth.keyFile !== undefined) readSettingFile("natsKey", auth.keyFile);
  return { ...(auth.caFile && { caFile: auth.caFile }), ...(auth.certFile && { certFile: auth.certFile }), ...(auth.keyFile && { keyFile: auth.keyFile }) };
}

function nkeySeed(file: string): Uint8Array {
  const seed = readSettingFile("natsNkey", file).trim();
  if (!/^SU[A-Z2-7]{50,}$/.test(seed)) {
    throw new MicroError("invalid_argument", `${settingTable.natsNkey.variable} file ${file} must hold an NKey user seed (one line starting with SU)`);
  }
  return new TextEncoder().encode(seed);
}

function credsFile(file: string): Uint8Array {
  const text = readSettingFile("natsCreds", file);
  if (!text.includes("BEGIN NATS USER JWT") || !text.includes("BEGIN USER NKEY SEED")) {
    throw new MicroError("invalid_argument", `${settingTable.natsCreds.variable} file ${file} is not a NATS .creds file (it needs a user JWT and an NKey seed)`);
  }
  return new TextEncoder().encode(text);
}

/** The text of a file a setting names; `invalid_argument` naming the setting when it cannot be read. */
function readSettingFile(name: SettingName, file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileBounded(file, maxSettingFileBytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new MicroError("invalid_argument", `${settingTable[name].variable} file ${file}: ${reason}`);
  }
  if (bytes.length > maxSettingFileBytes) throw new MicroError("invalid_argument", `${settingTable[name].variable} file ${file} is over ${maxSettingFileBytes} bytes`);
  return bytes.toString("utf8");
}

/** Largest credentials, key or certificate file read: a chain of certificates is a few KiB. */
const maxSettingFileBytes = 1024 * 1024;

function isLoopback(url: string): boolean {
  try {
    const host = new URL(url.includes("://") ? url : `nats://${url}`).hostname.replace(/^\[(.*)\]$/, "$1");
    return host === "localhost" || host === "::1" || /^127\./.test(host);
  } catch {
    return false;
  }
}
