/**
 * Gateway authentication and authorisation. Off unless configured (development needs none);
 * configured, every call needs an API key or an HS256 JWT, and the identity it stands for
 * may call only what its rules allow. Rules are patterns over `[namespace:]service[/Endpoint]`
 * with `*` matching anything; the gateway's own features (`dashboard`, `sidecar`,
 * `events/{topic}`, `history/{user}`, `web/{name}`) are rules of their own, never a service
 * of the same name (see `auth-rules.ts`).
 *
 * JWTs must carry `exp` (unless `jwt.requireExp` is false) no further ahead than
 * `jwt.maxAgeSeconds` (a day), and a JWT's `sub` may not name an identity of an API key, so a
 * token can never borrow a key's rules.
 *
 * @example
 * ```json
 * {
 *   "apiKeys": { "k-2f9c...": "ci-bot" },
 *   "jwt": { "secret": "...", "issuer": "https://login.example.com" },
 *   "allow": {
 *     "ci-bot": ["greeter", "events/deploy.*"],
 *     "*": ["greeter/Greeter.SayHello"]
 *   }
 * }
 * ```
 * @module
 */
import { verify } from "hono/jwt";
import { MicroError } from "../runtime/mod.ts";
import { readTextFile } from "../runtime/platform/process.ts";
import { type AuthTarget, describeTarget, ownTarget, patternRegExp, ruleSubject } from "./auth-rules.ts";

/** Auth settings: what `MICRO_GATEWAY_AUTH_FILE` holds, or the gateway's `auth` option. */
export interface AuthConfig {
  /** API key → the identity it stands for. Sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
  readonly apiKeys?: Readonly<Record<string, string>>;
  /**
   * HS256 JWTs signed with `secret`; the identity is the `sub` claim. `exp`/`nbf` are enforced;
   * `exp` is required unless `requireExp` is false, and may lie at most `maxAgeSeconds`
   * (86400) ahead. A `sub` that names an API key's identity is refused.
   */
  readonly jwt?: {
    readonly secret: string;
    readonly issuer?: string;
    readonly audience?: string;
    readonly requireExp?: boolean;
    readonly maxAgeSeconds?: number;
  };
  /**
   * Identity → patterns it may call (`greeter`, `greeter/Greeter.SayHello`, `greeter/*`,
   * `admin:users/*`, `events/customer.*`, `*`). Patterns under `"*"` apply to every
   * authenticated identity. Anything not allowed is denied.
   */
  readonly allow: Readonly<Record<string, readonly string[]>>;
}

export type { AuthTarget } from "./auth-rules.ts";

/** Checks requests against an {@link AuthConfig}. */
export interface Auth {
  /** The identity of a request; rejects with `unauthenticated` naming what is missing or wrong. */
  authenticate(headers: Headers): Promise<string>;
  /** True when `identity` may reach `target`. */
  allows(identity: string, target: AuthTarget): boolean;
  /** Rejects with `permission_denied` unless `identity` may reach `target`. */
  authorize(identity: string, target: AuthTarget): void;
  /** Request headers that carry credentials, kept from services. */
  readonly credentialHeaders: readonly string[];
}

const configKeys = new Set(["apiKeys", "jwt", "allow"]);
const jwtKeys = new Set(["secret", "issuer", "audience", "requireExp", "maxAgeSeconds"]);
/** Default longest JWT lifetime still ahead, in seconds. */
export const defaultJwtMaxAgeSeconds = 24 * 60 * 60;

/** Checks an auth config read from JSON; `invalid_argument` naming the bad part. */
export function parseAuthConfig(value: unknown, source = "auth config"): AuthConfig {
  const bad = (what: string) => new MicroError("invalid_argument", `${source}: ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("must be a JSON object {apiKeys, jwt, allow}");
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) if (!configKeys.has(key)) throw bad(`unknown key "${key}" (expected apiKeys, jwt, allow)`);
  if (v.apiKeys !== undefined && !isStringRecord(v.apiKeys)) throw bad(`apiKeys must map each key to an identity string`);
  if (v.jwt !== undefined) {
    const j = v.jwt as Record<string, unknown>;
    if (typeof j !== "object" || j === null || typeof j.secret !== "string" || j.secret.length < 16) throw bad("jwt.secret must be a string of at least 16 characters");
    for (const k of Object.keys(j)) if (!jwtKeys.has(k)) throw bad(`unknown key "jwt.${k}" (expected ${[...jwtKeys].join(", ")})`);
    for (const k of ["issuer", "audience"]) if (j[k] !== undefined && typeof j[k] !== "string") throw bad(`jwt.${k} must be a string`);
    if (j.requireExp !== undefined && typeof j.requireExp !== "boolean") throw bad("jwt.requireExp must be true or false");
    if (j.maxAgeSeconds !== undefined && (typeof j.maxAgeSeconds !== "number" || !Number.isSafeInteger(j.maxAgeSeconds) || j.maxAgeSeconds < 1)) {
      throw bad("jwt.maxAgeSeconds must be a whole number of seconds >= 1");
    }
  }
  if (v.apiKeys === undefined && v.jwt === undefined) throw bad("needs apiKeys or jwt (or leave auth unconfigured to turn it off)");
  if (typeof v.allow !== "object" || v.allow === null || Array.isArray(v.allow)) throw bad(`allow must map identities to lists of patterns`);
  for (const [identity, patterns] of Object.entries(v.allow)) {
    if (!Array.isArray(patterns) || !patterns.every((p) => typeof p === "string" && p !== "")) throw bad(`allow["${identity}"] must be a list of patterns like "greeter/Greeter.SayHello"`);
  }
  return v as unknown as AuthConfig;
}

/** Builds the checks of an auth config. */
export function createAuth(config: AuthConfig, gatewayNamespace: string): Auth {
  // Keys are looked up by digest, so how long a lookup takes says nothing about the keys.
  const keys = new Map<string, string>();
  const ready = Promise.all(Object.entries(config.apiKeys ?? {}).map(async ([key, identity]) => keys.set(await digest(key), identity)));
  const rules = new Map<string, RegExp[]>();
  for (const [identity, patterns] of Object.entries(config.allow)) rules.set(identity, patterns.map((p) => patternRegExp(p, gatewayNamespace)));
  const jwt = config.jwt;
  // Identities API keys stand for: a JWT naming one would get that key's rules.
  const keyIdentities = new Set(Object.values(config.apiKeys ?? {}));

  async function fromJwt(token: string): Promise<string> {
    if (jwt === undefined) throw new MicroError("unauthenticated", "JWTs are not accepted here; send an API key");
    let payload: Record<string, unknown>;
    try {
      payload = await verify(token, jwt.secret, {
        alg: "HS256",
        ...(jwt.issuer !== undefined ? { iss: jwt.issuer } : {}),
        ...(jwt.audience !== undefined ? { aud: jwt.audience } : {}),
      });
    } catch (error) {
      throw new MicroError("unauthenticated", `invalid JWT: ${(error as Error).message}`);
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw new MicroError("unauthenticated", "invalid JWT: it has no sub claim naming the identity");
    if (payload.sub.length > 256 || /[\x00-\x1f\x7f]/.test(payload.sub)) throw new MicroError("unauthenticated", "invalid JWT: its sub is not one line of at most 256 characters");
    // Header values lose their surrounding spaces on NATS: handlers and stored events would see "ci" for "ci\u00a0".
    if (payload.sub.trim() !== payload.sub) throw new MicroError("unauthenticated", "invalid JWT: its sub starts or ends with spaces");
    if (keyIdentities.has(payload.sub) || payload.sub === "*") throw new MicroError("unauthenticated", "invalid JWT: its sub names an API-key identity, which a token cannot stand for");
    const exp = payload.exp;
    if (exp === undefined) {
      if (jwt.requireExp !== false) throw new MicroError("unauthenticated", "invalid JWT: it has no exp claim (tokens must expire)");
    } else {
      const maxAge = jwt.maxAgeSeconds ?? defaultJwtMaxAgeSeconds;
      if (typeof exp !== "number" || !Number.isFinite(exp)) throw new MicroError("unauthenticated", "invalid JWT: exp must be a number of seconds");
      if (exp - Date.now() / 1000 > maxAge) throw new MicroError("unauthenticated", `invalid JWT: it expires more than ${maxAge} s from now (the longest lifetime accepted)`);
    }
    return payload.sub;
  }

  return {
    credentialHeaders: ["authorization", "x-api-key"],
    async authenticate(headers) {
      const apiKey = headers.get("x-api-key");
      const authorization = headers.get("authorization");
      if (apiKey === null && authorization === null) {
        throw new MicroError("unauthenticated", `credentials required: send Authorization: Bearer <${jwt ? "JWT or " : ""}API key>${config.apiKeys ? " or X-API-Key" : ""}`);
      }
      await ready;
      if (apiKey !== null) {
        const identity = keys.get(await digest(apiKey));
        if (identity === undefined) throw new MicroError("unauthenticated", "unknown API key in X-API-Key");
        return identity;
      }
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization!);
      if (match === null) throw new MicroError("unauthenticated", "the Authorization header must be \"Bearer <token>\"");
      const token = match[1]!;
      const identity = keys.get(await digest(token));
      if (identity !== undefined) return identity;
      if (token.split(".").length === 3) return await fromJwt(token);
      throw new MicroError("unauthenticated", "unknown API key in the Authorization header");
    },
    allows(identity, target) {
      if (ownTarget(identity, target)) return true;
      const subject = ruleSubject(target);
      for (const rule of rules.get(identity) ?? []) if (rule.test(subject)) return true;
      for (const rule of rules.get("*") ?? []) if (rule.test(subject)) return true;
      return false;
    },
    authorize(identity, target) {
      if (this.allows(identity, target)) return;
      throw new MicroError("permission_denied", `${identity} may not call ${describeTarget(target, gatewayNamespace)}`, { detail: identity });
    },
  };
}

async function digest(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string" && v !== "");
}

/** Reads an auth config from a JSON file (`MICRO_GATEWAY_AUTH_FILE`); `invalid_argument` naming the file and the problem. */
export function loadAuthFile(path: string): AuthConfig {
  const text = readTextFile(path);
  if (text === undefined) throw new MicroError("invalid_argument", `auth file ${path} cannot be read (MICRO_GATEWAY_AUTH_FILE)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `auth file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseAuthConfig(value, `auth file ${path}`);
}
