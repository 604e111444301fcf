/**
 * Where settings come from, highest first: command-line flags, environment variables, a JSON
 * config file (`micro.config.json`), then the defaults in `settings.ts`. An empty variable
 * counts as unset everywhere (`NATS_URL=` means "no URL", never the URL ""). The three are
 * one Effect `ConfigProvider`, each falling back to the next.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { ConfigProvider } from "effect";
import { MicroError } from "../errors/micro-error.ts";
import { readFileBounded } from "../platform/bounded-file.ts";
import { type Label, type SettingName, settingTable } from "./settings.ts";

/** The file read from the working directory when no other is named. */
export const defaultConfigFile = "micro.config.json";

/** What settings are read from. */
export interface SettingSources {
  /** Values that win over everything (command-line flags), by variable name: `{ NATS_URL: "nats://10.0.0.5:4222" }`. */
  readonly flags?: Readonly<Record<string, string | undefined>>;
  /** Environment variables; `process.env` when left out. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * A JSON config file: a path (which must exist), `true` for `./micro.config.json` when it
   * exists, or left out for none. The CLI and the sidecar read one; a library call does not.
   */
  readonly configFile?: string | boolean | undefined;
}

/** A config file's settings as variable → text, and its path. */
interface FileSettings {
  readonly path: string | undefined;
  readonly values: Readonly<Record<string, string>>;
}

/** The one provider of settings: flags, else the environment, else the config file. */
export function settingsProvider(sources: SettingSources = {}): ConfigProvider.ConfigProvider {
  return ConfigProvider.fromEnvRecord({ ...sources.flags }).pipe(
    ConfigProvider.orElse(ConfigProvider.fromEnvRecord(environment(sources.env ?? process.env))),
    ConfigProvider.orElse(ConfigProvider.fromEnvRecord({ ...configFileSettings(sources.configFile).values })),
  );
}

/**
 * The environment as settings read it. The one variable whose empty value is a value:
 * `MICRO_GATEWAY_FORWARD_HEADERS=` forwards no header (unset forwards the default list), so it
 * becomes an empty list rather than unset.
 */
function environment(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out = { ...env };
  if (out.MICRO_GATEWAY_FORWARD_HEADERS === "") out.MICRO_GATEWAY_FORWARD_HEADERS = ",";
  return out;
}

/**
 * How an error names a setting: by its variable, or, when only the config file holds it, by
 * its key there (`MICRO_REGISTRY_TTL_MS ("registryTtlMs" in /app/micro.config.json)`).
 */
export function labelOf(sources: SettingSources = {}): Label {
  const env = sources.env ?? process.env;
  return (name) => {
    const { variable, key } = settingTable[name];
    if (sources.flags?.[variable] || env[variable]) return variable;
    const file = configFileSettings(sources.configFile);
    return file.values[variable] === undefined ? variable : `${variable} ("${key}" in ${file.path})`;
  };
}

const fileKeys = new Map<string, SettingName>(Object.entries(settingTable).map(([name, s]) => [s.key, name as SettingName]));
const cache = new Map<string, FileSettings>();

/**
 * The settings of a config file (none when `path` is `false`, or `true` and the default file
 * does not exist); `invalid_argument` naming the file and what is wrong with it. A file is
 * read once per process.
 */
export function configFileSettings(path: string | boolean | undefined): FileSettings {
  if (path === undefined || path === false) return { path: undefined, values: {} };
  const file = resolve(path === true ? defaultConfigFile : path);
  if (path === true && !existsSync(file)) return { path: undefined, values: {} };
  const cached = cache.get(file);
  if (cached !== undefined) return cached;
  const read = { path: file, values: fileValues(file, readConfigFile(file)) };
  cache.set(file, read);
  return read;
}

/** Largest config file read: settings are a few hundred bytes, and `--config /dev/zero` must not be read for ever. */
const maxConfigFileBytes = 1024 * 1024;

/** The config file's object; `invalid_argument` when it is not a JSON object. */
export function readConfigFile(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    const bytes = readFileBounded(file, maxConfigFileBytes);
    if (bytes.length > maxConfigFileBytes) throw new Error(`over ${maxConfigFileBytes} bytes`);
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new MicroError("invalid_argument", `config file ${file}: ${reason}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MicroError("invalid_argument", `config file ${file} must hold a JSON object such as {"natsUrl": "nats://127.0.0.1:4222"}`);
  }
  return parsed as Record<string, unknown>;
}

/** Each key of the file as the text its variable would hold; `invalid_argument` on an unknown key or a value of the wrong kind. */
function fileValues(file: string, object: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(object)) {
    const name = fileKeys.get(key);
    if (name === undefined) throw new MicroError("invalid_argument", `config file ${file}: unknown key "${key}" (known: ${[...fileKeys.keys()].join(", ")})`);
    const setting = settingTable[name];
    const wrong = (what: string) => new MicroError("invalid_argument", `config file ${file}: "${key}" must be ${what}`);
    switch (setting.file) {
      case "string":
        if (typeof value !== "string" || value === "") throw wrong("a non-empty string");
        out[setting.variable] = value;
        break;
      case "number":
        if (typeof value !== "number" && typeof value !== "string") throw wrong("a number");
        out[setting.variable] = String(value);
        break;
      case "flag":
        if (typeof value !== "boolean") throw wrong("true or false");
        out[setting.variable] = value ? "1" : "0";
        break;
      case "servers":
        // One URL, or a cluster's as a list; each is checked with the setting itself.
        if (typeof value === "string" && value !== "") out[setting.variable] = value;
        else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v !== "" && !v.includes(","))) out[setting.variable] = value.join(",");
        else throw wrong(`a non-empty string (a server URL) or a list of server URLs such as ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"]`);
        break;
      case "list":
        if (!Array.isArray(value) || !value.every((v) => typeof v === "string" && !v.includes(","))) throw wrong("an array of strings (without commas)");
        // Module paths in the file are relative to the file, wherever the process runs.
        out[setting.variable] = (name === "interceptorModules" ? value.map((v) => (isAbsolute(v) ? v : resolve(dirname(file), v))) : value).join(",");
        break;
      case "pairs":
        if (typeof value !== "object" || value === null || Array.isArray(value) || !Object.values(value).every((v) => typeof v === "string")) {
          throw wrong(`an object of strings such as {"zone": "a"}`);
        }
        out[setting.variable] = Object.entries(value).map(([k, v]) => `${k}=${v}`).join(",");
        break;
    }
  }
  return out;
}
