/**
 * The metrics of calls: an observer (servers and clients) counting every
 * call, stream open, event and actor command with its result code and latency, and a collector reading what a service instance
 * keeps itself (mailbox depth, rejections, in-flight calls, per-endpoint counters as
 * `$SRV.STATS` reports them).
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { type CallNext, type CallObserver, type CallRequest, type CallResponse, callNext } from "../protocol/mod.ts";
import type { ServiceInstance } from "../server/service-instance.ts";
import type { BoundCounter, BoundHistogram, Counter, Histogram, MetricsRegistry } from "./metrics.ts";

/**
 * Counts calls as an observer: `micro_requests_total{side,kind,service,method,code}` and
 * `micro_request_duration_seconds{side,kind,service,method}` (`code` is `ok` or the error code;
 * `method` of an event is its subscription's topic filter). A server tells it each call's
 * outcome and the time it measured anyway (from arrival to reply, decode included), a client
 * its calls' outcomes, so neither needs a step in the call's path. Streams are followed past
 * their open by its `stream` interceptor.
 */
export function metricsObserver(registry: MetricsRegistry): CallObserver {
  const endpoints = requestSeries(registry);
  const streams = streamCounter(registry);
  return {
    succeeded(request, ms) {
      const series = endpoints.of(request);
      series.duration.observe(ms / 1000);
      series.ok.inc();
    },
    failed(request, error, ms) {
      const series = endpoints.of(request);
      series.duration.observe(ms / 1000);
      series.failed(error.code).inc();
    },
    stream: (next) =>
      function countStream(request) {
        return streams(next, request);
      },
  };
}

/** The request counter and latency histogram of `registry`, bound per endpoint on first use. */
function requestSeries(registry: MetricsRegistry): EndpointSeries {
  const total = registry.counter("micro_requests_total", "Calls, stream opens, event deliveries and actor commands, by result code (ok or the error code).", [
    "side",
    "kind",
    "service",
    "method",
    "code",
  ]);
  const duration = registry.histogram("micro_request_duration_seconds", "Time a call, stream open, event delivery or actor command took in this process, to its response or error.", [
    "side",
    "kind",
    "service",
    "method",
  ]);
  return new EndpointSeries(total, duration);
}

/** The series one endpoint (side, kind, service, method) updates per call, bound once. */
interface Series {
  readonly side: string;
  readonly kind: string;
  readonly service: string;
  readonly duration: BoundHistogram;
  readonly ok: BoundCounter;
  failed(code: string): BoundCounter;
}

/** Most endpoints whose series are kept bound; past it the cache starts over (the metrics stay). */
const maxBound = 1024;

/** An event by its subscription's filter: topics are the publishers' choice, one series each. */
function methodLabel(request: CallRequest): string {
  return request.topicFilter ?? request.method;
}

/**
 * Bound series per endpoint, found by method name and then by side, kind and service (nearly
 * always one entry): no label object, key string or label-set lookup per call.
 */
class EndpointSeries {
  readonly #byMethod = new Map<string, Series[]>();
  #size = 0;
  constructor(readonly total: Counter, readonly duration: Histogram) {}

  of(request: CallRequest): Series {
    const list = this.#byMethod.get(methodLabel(request));
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (s.service === request.service && s.kind === request.kind && s.side === request.side) return s;
      }
    }
    return this.#bind(request, list);
  }

  #bind(request: CallRequest, list: Series[] | undefined): Series {
    if (this.#size >= maxBound) {
      this.#byMethod.clear();
      this.#size = 0;
      list = undefined;
    }
    const method = methodLabel(request);
    const labels = { side: request.side, kind: request.kind, service: request.service, method };
    const total = this.total;
    const failures = new Map<string, BoundCounter>();
    const series: Series = {
      side: request.side,
      kind: request.kind,
      service: request.service,
      duration: this.duration.bind(labels),
      ok: total.bind({ ...labels, code: "ok" }),
      // Codes are a closed set (MicroError's), so this map stays small.
      failed(code) {
        let counter = failures.get(code);
        if (counter === undefined) failures.set(code, counter = total.bind({ ...labels, code }));
        return counter;
      },
    };
    if (list === undefined) this.#byMethod.set(method, [series]);
    else list.push(series);
    this.#size++;
    return series;
  }
}

/**
 * Counts streams: `micro_streams_open{side,service,method}` from the open until the last
 * message (or the one response of a client stream), and at their end
 * `micro_streams_total{side,service,method,outcome}`, where outcome is `ok`, `cancelled` (the
 * reader stopped early: a client that went away, a consumer that broke out of its loop) or the
 * error code the stream failed with.
 */
function streamCounter(registry: MetricsRegistry): (next: CallNext, request: CallRequest) => Promise<CallResponse> {
  const open = registry.gauge("micro_streams_open", "Streams open now, from their open until their last message.", ["side", "service", "method"]);
  const total = registry.counter("micro_streams_total", "Streams ended, by outcome: ok, cancelled (the reader stopped early) or the error code.", ["side", "service", "method", "outcome"]);
  return (next, request) => {
    const labels = { side: request.side, service: request.service, method: request.method };
    open.add(labels, 1);
    let ended = false;
    const end = (outcome: string) => {
      if (ended) return;
      ended = true;
      open.add(labels, -1);
      total.inc({ ...labels, outcome });
    };
    return callNext(next, request).then(
      (response) => {
        const source = response.message as AsyncIterable<unknown> | null | undefined;
        if (source === null || typeof source !== "object" || typeof source[Symbol.asyncIterator] !== "function") {
          end("ok");
          return response;
        }
        return { ...response, message: counted(source, end) };
      },
      (error: unknown) => {
        end(MicroError.from(error).code);
        throw error;
      },
    );
  };
}

/** `source`, calling `end` once with how its iteration ended. */
function counted(source: AsyncIterable<unknown>, end: (outcome: string) => void): AsyncIterable<unknown> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = source[Symbol.asyncIterator]();
      return {
        next: (value?: unknown) =>
          iterator.next(value).then(
            (result) => {
              if (result.done) end("ok");
              return result;
            },
            (error: unknown) => {
              end(MicroError.from(error).code);
              throw error;
            },
          ),
        return: (value?: unknown) => {
          end("cancelled");
          return iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined });
        },
        throw: (error?: unknown) => {
          end(MicroError.from(error).code);
          return iterator.throw?.(error) ?? Promise.reject(error);
        },
      };
    },
  };
}

/** Reads `instance`'s own counters before every scrape; returns a function that stops it. */
export function collectInstance(registry: MetricsRegistry, instance: ServiceInstance): () => void {
  const labels = { service: instance.definition.name, version: instance.definition.version, node: instance.nodeId };
  const mailbox = registry.gauge("micro_mailbox_depth", "Calls waiting in a node's mailbox.", ["service", "version", "node"]);
  const running = registry.gauge("micro_calls_running", "Calls a node is handling now.", ["service", "version", "node"]);
  const rejected = registry.counter("micro_mailbox_rejected_total", "Calls a node refused because its mailbox was full (since it started).", ["service", "version", "node"]);
  const requests = registry.counter("micro_node_requests_total", "Requests per endpoint and node since the node started, as $SRV.STATS reports them.", [
    "service",
    "version",
    "node",
    "endpoint",
  ]);
  const errors = registry.counter("micro_node_errors_total", "Errors per endpoint and node since the node started, as $SRV.STATS reports them.", [
    "service",
    "version",
    "node",
    "endpoint",
  ]);
  return registry.collect(() => {
    const stats = instance.stats();
    mailbox.set(labels, stats.mailboxDepth);
    running.set(labels, stats.running);
    rejected.set(labels, stats.rejected);
    for (const [endpoint, s] of Object.entries(stats.endpoints)) {
      requests.set({ ...labels, endpoint }, s.requests);
      errors.set({ ...labels, endpoint }, s.errors);
    }
  });
}
