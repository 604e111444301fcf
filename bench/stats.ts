/**
 * Small statistics and formatting helpers for the benchmarks: medians across rounds,
 * percentiles of call latencies, and numbers printed the way the peer tables print them.
 * @module
 */

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The `p`-th percentile (0-100, nearest rank) of an ascending-sorted array; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/**
 * Latencies collected without growing a JS array per call: a typed buffer that doubles when
 * full, so recording costs the same for every system measured.
 */
export class LatencyRecorder {
  #buffer = new Float64Array(1 << 16);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record(micros: number): void {
    if (this.#count === this.#buffer.length) {
      const bigger = new Float64Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    this.#buffer[this.#count++] = micros;
  }

  /** p50 and p99 in µs of what was recorded. */
  summary(): { p50: number; p99: number } {
    const sorted = this.#buffer.slice(0, this.#count).sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  }
}

/** Spread of runs around their median, e.g. `±12%` (the largest deviation). */
export function spread(values: readonly number[]): string {
  const mid = median(values);
  if (!(mid > 0)) return "–";
  const worst = Math.max(...values.map((v) => Math.abs(v - mid)));
  return `±${Math.round((worst / mid) * 100)}%`;
}

/** `26,176` style for counts and rates; `–` for missing values. */
export function formatNumber(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  return value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `40.3k` style for one run among several. */
export function formatShort(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

/** Renders rows as a Markdown table; `align` holds "l" or "r" per column. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], align: string): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (align[i] === "r" ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
