/**
 * Terminal output of the CLI: colour only on a terminal (and never with `NO_COLOR`), aligned
 * tables, JSON for scripts, and progress lines on stderr that vanish when piped.
 * @module
 */

/** Colour when stdout is a terminal, unless `NO_COLOR` is set (https://no-color.org); `FORCE_COLOR` forces it. */
export const colorEnabled = (() => {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  return process.stdout.isTTY === true && process.env.TERM !== "dumb";
})();

const sgr = (open: number, close: number) => (text: string) => (colorEnabled ? `\x1b[${open}m${text}\x1b[${close}m` : text);

/** ANSI styles that are the identity when colour is off. */
export const paint = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

const ansi = /\x1b\[[0-9;]*m/g;
const visibleWidth = (text: string) => text.replace(ansi, "").length;

/** Rows under a bold header, columns padded to the widest cell (colour codes do not count). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleWidth(r[i] ?? ""))));
  const line = (cells: readonly string[], style: (s: string) => string = (s) => s) =>
    cells.map((c, i) => (i === cells.length - 1 ? style(c) : style(c) + " ".repeat(widths[i]! - visibleWidth(c) + 2))).join("").trimEnd();
  return [line(header, paint.bold), ...rows.map((r) => line(r))].join("\n");
}

/** Writes a line to stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Writes a value as indented JSON (`--output json`) or one line (`ndjson`). */
export function printJson(value: unknown, compact = false): void {
  print(JSON.stringify(value, null, compact ? undefined : 2));
}

/** Writes a line to stderr. */
export function printError(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** A progress line on stderr, rewritten in place; silent when stderr is not a terminal. */
export interface Progress {
  update(text: string): void;
  /** Clears the line before other output is written to the terminal; the next update redraws it. */
  clear(): void;
  /** Clears the line. */
  done(): void;
}

/** Starts a progress line (nothing at all unless stderr is a terminal). */
export function progress(): Progress {
  const live = process.stderr.isTTY === true;
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (!live || now - last < 100) return; // at most ten redraws a second
      last = now;
      shown = true;
      process.stderr.write(`\r\x1b[2K${paint.dim(text)}`);
    },
    clear() {
      if (live && shown) process.stderr.write("\r\x1b[2K");
      shown = false; // still at most ten redraws a second: events printed are progress enough
    },
    done() {
      this.clear();
    },
  };
}

/** `--output` formats: readable text (default), JSON, or one JSON object per line. */
export type OutputFormat = "text" | "json" | "ndjson";
