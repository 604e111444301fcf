/**
 * The structured logger: one line per record, as JSON (`{"time":...,"level":"info","msg":...}`,
 * for log collectors) or pretty (`12:00:01.234 INFO  msg key=value`, for people), at a minimum
 * level. Set by `MICRO_LOG_FORMAT` (`pretty`, `json`) and `MICRO_LOG_LEVEL` / `--log-level`
 * (`debug`, `info`, `warn`, `error`).
 *
 * Successes are logged through a {@link Sampler}: under load a line per success would cost more
 * than the call, so at most `perSecond` are written each second and the next line says how many
 * were left out. Failures are always written.
 * @module
 */

/** Log levels, lowest first. */
export const logLevels = ["debug", "info", "warn", "error"] as const;
/** One log level. */
export type LogLevel = (typeof logLevels)[number];
/** Line formats. */
export type LogFormat = "pretty" | "json";

/** Fields of a record: strings, numbers and booleans (undefined ones are left out). */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Writes records at or above its level. */
export interface Logger {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** True when records of `level` are written (check before building costly fields). */
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go (without their newline); stderr by default, so stdout stays the program's. */
  readonly write?: (line: string) => void;
  /** The clock, for tests. */
  readonly now?: () => number;
}

/**
 * A logger.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: "info", format: "json" });
 * log.warn("call failed", { method: "Greeter.SayHello", code: "not_found", ms: 3.2 });
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? "info";
  const format = options.format ?? "pretty";
  const write = options.write ?? ((line: string) => void process.stderr.write(line + "\n"));
  const now = options.now ?? Date.now;
  const min = logLevels.indexOf(level);
  const enabled = (l: LogLevel) => logLevels.indexOf(l) >= min;
  const log = (l: LogLevel, msg: string, fields: LogFields = {}) => {
    if (!enabled(l)) return;
    write(format === "json" ? jsonLine(now(), l, msg, fields) : prettyLine(now(), l, msg, fields));
  };
  return {
    level,
    format,
    enabled,
    log,
    debug: (msg, fields) => log("debug", msg, fields),
    info: (msg, fields) => log("info", msg, fields),
    warn: (msg, fields) => log("warn", msg, fields),
    error: (msg, fields) => log("error", msg, fields),
  };
}

function jsonLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  const record: Record<string, unknown> = { time: new Date(time).toISOString(), level, msg };
  for (const key in fields) if (fields[key] !== undefined && !(key in record)) record[key] = fields[key];
  return JSON.stringify(record);
}

function prettyLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  let line = `${new Date(time).toISOString().slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}`;
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === "" ? JSON.stringify(text) : text}`;
  }
  return line;
}

/** Lets through at most `perSecond` records each second; counts the rest. */
export interface Sampler {
  /** True when this record may be written; then `skipped` says how many were left out before it. */
  take(): boolean;
  /** How many records were left out since the last one taken (reset by it). */
  readonly skipped: number;
}

/** A {@link Sampler} of `perSecond` records a second (0: none, Infinity: all). */
export function createSampler(perSecond: number, now: () => number = Date.now): Sampler {
  let windowStart = 0;
  let taken = 0;
  let skipped = 0;
  let reported = 0;
  return {
    take() {
      const t = now();
      if (t - windowStart >= 1000) {
        windowStart = t;
        taken = 0;
      }
      if (taken >= perSecond) {
        skipped++;
        return false;
      }
      taken++;
      reported = skipped;
      skipped = 0;
      return true;
    },
    get skipped() {
      return reported;
    },
  };
}
