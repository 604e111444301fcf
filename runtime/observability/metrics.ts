/**
 * Metrics in the Prometheus text exposition format (version 0.0.4), written here rather than
 * with a library: counters, gauges and histograms with labels are a page of code, run the same
 * on Bun, Deno and Node, and cost one `Map` lookup per update, or none through a series bound
 * once (`bind`), as the per-call interceptor does.
 *
 * Label values come from requests (service, method, route), so each metric keeps at most
 * {@link maxSeries} label sets: past that, new ones are counted under `other`, never grown
 * without bound by hostile names.
 * @module
 */

/** Most label sets one metric keeps; more are folded into one set whose values are `other`. */
export const maxSeries = 2000;

/** Default latency buckets, in seconds (1 ms to 10 s). */
export const latencyBuckets: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  write(out: string[]): void;
  points(): MetricPoint[];
}

/** One series' value as other exporters (OTLP) read it: a number, or a histogram's buckets. */
export interface MetricPoint {
  readonly labels: Readonly<Record<string, string>>;
  /** Counters and gauges. */
  readonly value?: number;
  /** Histograms: observations per bucket (not cumulative), one more than the boundaries (the last above them). */
  readonly buckets?: readonly number[];
  readonly sum?: number;
  readonly count?: number;
}

/** A metric with its points, as {@link MetricsRegistry.snapshot} returns it. */
export interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge" | "histogram";
  /** Histograms: the bucket boundaries. */
  readonly boundaries?: readonly number[];
  readonly points: readonly MetricPoint[];
}

const labelsOf = (names: readonly string[], values: readonly string[]) => Object.fromEntries(names.map((n, i) => [n, values[i]!]));

/** Escapes a label value as the text format requires. */
const escapeValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labelText = (names: readonly string[], values: readonly string[], extra = "") => {
  const parts = names.map((n, i) => `${n}="${escapeValue(values[i]!)}"`);
  if (extra) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
};
const num = (n: number) => (Number.isFinite(n) ? String(n) : n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN");

/** Series storage shared by the three kinds: label values → state, bounded. */
class Series<T> {
  readonly #series = new Map<string, { values: string[]; state: T }>();
  constructor(readonly labelNames: readonly string[], readonly make: () => T) {}

  get(labels: Labels): T {
    const values = this.labelNames.map((n) => labels[n] ?? "");
    const key = values.join("\u0000");
    let entry = this.#series.get(key);
    if (entry === undefined) {
      // The last place is the `other` set's, so it always has one (a full map once made it
      // recurse until the stack overflowed, failing every call with a new label set).
      if (this.#series.size >= maxSeries - 1) return this.#other();
      entry = { values, state: this.make() };
      this.#series.set(key, entry);
    }
    return entry.state;
  }

  #other(): T {
    const values = this.labelNames.map(() => "other");
    const key = values.join("\u0000");
    let entry = this.#series.get(key);
    if (entry === undefined) this.#series.set(key, entry = { values, state: this.make() });
    return entry.state;
  }

  entries(): Iterable<{ values: string[]; state: T }> {
    return this.#series.values();
  }
}

/** One series of a counter, looked up once ({@link Counter.bind}): adding to it is a field update. */
export interface BoundCounter {
  inc(by?: number): void;
}

/** One series of a histogram, looked up once ({@link Histogram.bind}). */
export interface BoundHistogram {
  observe(value: number): void;
}

/** A value that only goes up. */
export class Counter implements Metric {
  readonly type = "counter";
  readonly #series: Series<{ value: number }>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    this.#series = new Series(labelNames, () => ({ value: 0 }));
  }
  /** Adds `by` (1) to the series of `labels`. */
  inc(labels: Labels = {}, by = 1): void {
    this.#series.get(labels).value += by;
  }
  /**
   * The series of `labels`, for a caller that updates it on a hot path: the label set is
   * looked up (and counted against {@link maxSeries}) once, not per update.
   */
  bind(labels: Labels): BoundCounter {
    const state = this.#series.get(labels);
    return { inc: (by = 1) => void (state.value += by) };
  }
  /** Sets the total of a count kept elsewhere (read by a collector), which only goes up there. */
  set(labels: Labels, value: number): void {
    this.#series.get(labels).value = value;
  }
  write(out: string[]): void {
    for (const { values, state } of this.#series.entries()) out.push(`${this.name}${labelText(this.#series.labelNames, values)} ${num(state.value)}`);
  }
  points(): MetricPoint[] {
    return [...this.#series.entries()].map(({ values, state }) => ({ labels: labelsOf(this.#series.labelNames, values), value: state.value }));
  }
}

/** A value that goes up and down. */
export class Gauge implements Metric {
  readonly type = "gauge";
  readonly #series: Series<{ value: number }>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = []) {
    this.#series = new Series(labelNames, () => ({ value: 0 }));
  }
  set(labels: Labels, value: number): void {
    this.#series.get(labels).value = value;
  }
  /** Adds `by` (which may be negative) to the series of `labels`. */
  add(labels: Labels, by: number): void {
    this.#series.get(labels).value += by;
  }
  write(out: string[]): void {
    for (const { values, state } of this.#series.entries()) out.push(`${this.name}${labelText(this.#series.labelNames, values)} ${num(state.value)}`);
  }
  points(): MetricPoint[] {
    return [...this.#series.entries()].map(({ values, state }) => ({ labels: labelsOf(this.#series.labelNames, values), value: state.value }));
  }
}

/** Observations counted into cumulative buckets, with their sum and count. */
export class Histogram implements Metric {
  readonly type = "histogram";
  readonly #series: Series<{ counts: Float64Array; sum: number; count: number }>;
  constructor(readonly name: string, readonly help: string, labelNames: readonly string[] = [], readonly buckets: readonly number[] = latencyBuckets) {
    this.#series = new Series(labelNames, () => ({ counts: new Float64Array(buckets.length), sum: 0, count: 0 }));
  }
  observe(labels: Labels, value: number): void {
    record(this.#series.get(labels), this.buckets, value);
  }
  /** The series of `labels`, looked up once (see {@link Counter.bind}). */
  bind(labels: Labels): BoundHistogram {
    const state = this.#series.get(labels);
    const buckets = this.buckets;
    return { observe: (value) => record(state, buckets, value) };
  }
  write(out: string[]): void {
    const names = this.#series.labelNames;
    for (const { values, state } of this.#series.entries()) {
      let cumulative = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        cumulative += state.counts[i]!;
        out.push(`${this.name}_bucket${labelText(names, values, `le="${this.buckets[i]}"`)} ${cumulative}`);
      }
      out.push(`${this.name}_bucket${labelText(names, values, 'le="+Inf"')} ${state.count}`);
      out.push(`${this.name}_sum${labelText(names, values)} ${num(state.sum)}`);
      out.push(`${this.name}_count${labelText(names, values)} ${state.count}`);
    }
  }
  points(): MetricPoint[] {
    return [...this.#series.entries()].map(({ values, state }) => ({
      labels: labelsOf(this.#series.labelNames, values),
      buckets: [...state.counts, state.count - state.counts.reduce((a, b) => a + b, 0)],
      sum: state.sum,
      count: state.count,
    }));
  }
}

/** Counts `value` into a histogram series: its first bucket at or above it, the sum and count. */
function record(s: { counts: Float64Array; sum: number; count: number }, buckets: readonly number[], value: number): void {
  s.sum += value;
  s.count++;
  for (let i = 0; i < buckets.length; i++) {
    if (value <= buckets[i]!) {
      s.counts[i]!++;
      return;
    }
  }
}

/** The content type of {@link MetricsRegistry.exposition}. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/**
 * A set of metrics served together, plus collectors run before each scrape (to read values
 * kept elsewhere, such as a service instance's mailbox depth).
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();
  readonly #collectors = new Set<() => void>();
  readonly #asyncCollectors = new Set<() => Promise<void>>();

  /** The counter named `name`, made on first use (same name, same counter). */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.#get(name, () => new Counter(name, help, labelNames));
  }
  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.#get(name, () => new Gauge(name, help, labelNames));
  }
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.#get(name, () => new Histogram(name, help, labelNames, buckets));
  }

  /** Runs `collect` before every scrape; returns a function that removes it. */
  collect(collect: () => void): () => void {
    this.#collectors.add(collect);
    return () => this.#collectors.delete(collect);
  }

  /**
   * Runs `collect` before every {@link scrape}, for values read from elsewhere over the network
   * (JetStream's consumer info); returns a function that removes it. A scrape waits for it at
   * most `scrapeWaitMs`, then serves the values it last collected.
   */
  collectAsync(collect: () => Promise<void>): () => void {
    this.#asyncCollectors.add(collect);
    return () => this.#asyncCollectors.delete(collect);
  }

  /**
   * Every metric in the Prometheus text format, after the async collectors ran (each waited
   * for at most `scrapeWaitMs`, 1000): a slow JetStream delays `/metrics` by that much at most,
   * never stalls it.
   */
  async scrape(scrapeWaitMs = 1000): Promise<string> {
    await this.collectNow(scrapeWaitMs);
    return this.exposition();
  }

  /** Runs the async collectors, waiting for them at most `waitMs` (see {@link scrape}). */
  async collectNow(waitMs = 1000): Promise<void> {
    const scrapeWaitMs = waitMs;
    if (this.#asyncCollectors.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, scrapeWaitMs)));
      // A failing collector must not hide the other metrics: its own stay as last collected.
      const all = Promise.all([...this.#asyncCollectors].map((collect) => collect().catch(() => undefined)));
      await Promise.race([all, late]);
      clearTimeout(timer);
    }
  }

  /** Every metric with its points, after the sync collectors ran (for OTLP). */
  snapshot(): MetricSnapshot[] {
    this.#runCollectors();
    return [...this.#metrics.values()].map((m) => ({
      name: m.name,
      help: m.help,
      type: m.type,
      ...(m instanceof Histogram ? { boundaries: m.buckets } : {}),
      points: m.points(),
    }));
  }

  #runCollectors(): void {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // A failing collector must not hide the other metrics; its own stay as last collected.
      }
    }
  }

  /** Every metric in the Prometheus text format (sync collectors only; see {@link scrape}). */
  exposition(): string {
    this.#runCollectors();
    const out: string[] = [];
    for (const metric of this.#metrics.values()) {
      out.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${metric.name} ${metric.type}`);
      metric.write(out);
    }
    return out.join("\n") + "\n";
  }

  #get<M extends Metric>(name: string, make: () => M): M {
    let metric = this.#metrics.get(name);
    if (metric === undefined) this.#metrics.set(name, (metric = make()));
    return metric as M;
  }
}
