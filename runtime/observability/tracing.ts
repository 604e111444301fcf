/**
 * Tracing with OpenTelemetry: a span per call, stream open, event delivery and actor command,
 * exported over OTLP/HTTP, configured by the standard `OTEL_*` variables. Off unless
 * configured ({@link tracingEnabled}); off, nothing of OpenTelemetry is even imported and no
 * interceptor is added, so the request path is what it is without tracing.
 *
 * Two interceptors do the work. The client one starts a `CLIENT` (or `PRODUCER`) span as a
 * child of the current span and sets `request.trace`, which the protocol writes as the
 * `traceparent`/`tracestate` headers. The server one reads `request.trace`, starts a `SERVER`
 * (`CONSUMER` for events) span as its child and runs the rest of the call inside it, so nested
 * calls, published events and actor commands made by the handler are its children. Sends
 * without a request to intercept (`ctx.publish`, the gateway's calls) read the current span
 * through the protocol's {@link setTraceContextSource}.
 *
 * Sampling is the standard `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default
 * `parentbased_always_on`). Under a parent-based sampler a call whose caller was sampled out
 * makes no span object at all: only its `traceparent` (flags `00`) travels on, so the whole
 * trace stays sampled out downstream at the cost of a header.
 *
 * Attributes follow the OpenTelemetry semantic conventions. `rpc.system` is `jetmicro`: the
 * request/reply protocol (headers, error codes, deadlines, streams) is jetmicro's own, carried
 * by NATS, which `network.transport`-like attributes cannot say and `nats` would misname (plain
 * NATS request/reply has none of it). Events are messaging spans with `messaging.system=nats`.
 * @module
 */
import type { Span, SpanContext, Tracer } from "@opentelemetry/api";
import { MicroError } from "../errors/micro-error.ts";
import { type CallRequest, type CallResponse, type Interceptor, setTraceContextSource, type TraceContext } from "../protocol/mod.ts";
import { traceExportConfig } from "./tracing-config.ts";

/** A started tracer and its interceptors. */
export interface Tracing {
  /** Put on clients (and on `clientInterceptors` of services, for nested calls). */
  readonly clientInterceptor: Interceptor;
  /** Put on services (outermost of the user's interceptors). */
  readonly serverInterceptor: Interceptor;
  /** The OpenTelemetry tracer, for spans of one's own (the gateway's HTTP spans). */
  readonly tracer: Tracer;
  /** The OpenTelemetry API the spans were made with. */
  readonly api: typeof import("@opentelemetry/api");
  /** Exports every ended span now. */
  flush(): Promise<void>;
  /** Flushes and stops exporting. */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * True when the environment asks for traces: `OTEL_TRACES_EXPORTER=otlp`, or an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) with no exporter named;
 * never with `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`.
 */
export function tracingEnabled(env: Env = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((e) => e.trim().toLowerCase()).filter((e) => e !== "");
  if (exporters.length > 0) {
    if (exporters.includes("none")) return false;
    const unknown = exporters.filter((e) => e !== "otlp");
    if (unknown.length > 0) throw new MicroError("invalid_argument", `OTEL_TRACES_EXPORTER must be otlp or none (jetmicro exports traces over OTLP/HTTP), got "${unknown.join(",")}"`);
    return true;
  }
  return !!(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

let started: Promise<Tracing | undefined> | undefined;

/**
 * The process's tracing, started on first use when {@link tracingEnabled}; undefined when off.
 * One per process (OpenTelemetry's context and propagator are process-wide): the runner and a
 * gateway in the same process share it. `serviceName` names the process when
 * `OTEL_SERVICE_NAME` does not.
 */
export function processTracing(serviceName = "jetmicro", env: Env = process.env): Promise<Tracing | undefined> {
  return (started ??= tracingEnabled(env) ? startTracing(serviceName, env) : Promise.resolve(undefined));
}

/**
 * Starts tracing unconditionally (see {@link processTracing} for the usual entry point), with
 * the exporter, sampler and batching `env` configures ({@link traceExportConfig}).
 *
 * The per-call path is kept short: the span's `traceparent` is formatted from its ids and an
 * incoming one sliced into a span context (both already checked by the protocol), without the
 * propagator's carrier round trips; a span's name and attributes are built once per endpoint;
 * with a parent-based sampler (the default) a call under an unsampled parent starts no span at
 * all and passes the parent's context on, so a sampled-out trace costs a header and a context.
 */
export async function startTracing(serviceName: string, env: Env = process.env): Promise<Tracing> {
  const config = traceExportConfig(env);
  const api = await import("@opentelemetry/api");
  const sdk = await import("@opentelemetry/sdk-trace-base");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { TraceState, W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
  // The url and headers are passed explicitly: the exporter would otherwise read `process.env`.
  const exporterOptions = { url: config.url, headers: config.headers, timeoutMillis: config.timeoutMs };
  const exporter = config.protocol === "http/json"
    ? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter(exporterOptions)
    : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter(exporterOptions);

  const ratio = new sdk.TraceIdRatioBasedSampler(config.ratio);
  const samplers = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
    parentbased_always_on: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() }),
    parentbased_always_off: new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() }),
    parentbased_traceidratio: new sdk.ParentBasedSampler({ root: ratio }),
  };
  // Parent-based: an unsampled parent means an unsampled child, decided here without a span.
  const followsParent = config.sampler.startsWith("parentbased_");
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME || serviceName, "telemetry.sdk.name": "opentelemetry" }),
    sampler: samplers[config.sampler],
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, config.batch)],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer("jetmicro");

  /** A span context's trace context as it travels: one string, no carrier. */
  const travelling = (sc: SpanContext): TraceContext => {
    const traceparent = `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1) === 1 ? "01" : "00"}`;
    const tracestate = sc.traceState?.serialize();
    return tracestate ? { traceparent, tracestate } : { traceparent };
  };
  /**
   * The caller's span from a trace context (`00-<trace>-<span>-<flags>`, checked by the
   * protocol); undefined for one that is not valid after all (an interceptor may set any).
   */
  const remote = (trace: TraceContext): SpanContext | undefined => {
    const sc: SpanContext = {
      traceId: trace.traceparent.slice(3, 35),
      spanId: trace.traceparent.slice(36, 52),
      traceFlags: parseInt(trace.traceparent.slice(53, 55), 16) & 1,
      isRemote: true,
    };
    if (!api.trace.isSpanContextValid(sc)) return undefined;
    if (trace.tracestate) sc.traceState = new TraceState(trace.tracestate);
    return sc;
  };
  setTraceContextSource(() => {
    const sc = api.trace.getSpan(api.context.active())?.spanContext();
    return sc === undefined || !api.trace.isSpanContextValid(sc) ? undefined : travelling(sc);
  });

  const ended = (span: Span) => (response: CallResponse) => {
    span.end();
    return response;
  };
  const failed = (span: Span) => (error: unknown) => {
    const e = MicroError.from(error);
    span.setAttribute("rpc.response.status_code", e.code);
    span.setAttribute("error.type", e.code);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: e.message });
    span.end();
    throw error;
  };
  const clientShape = shapes("client");
  const serverShape = shapes("server");

  const clientInterceptor: Interceptor = (next) =>
    function traceClient(request) {
      const parent = api.context.active();
      const parentSpan = followsParent ? api.trace.getSpan(parent) : undefined;
      if (parentSpan !== undefined) {
        const sc = parentSpan.spanContext();
        if ((sc.traceFlags & 1) === 0 && api.trace.isSpanContextValid(sc)) return next({ ...request, trace: travelling(sc) });
      }
      const shape = clientShape(request);
      const span = tracer.startSpan(shape.name, { kind: request.kind === "event" ? api.SpanKind.PRODUCER : api.SpanKind.CLIENT, attributes: shape.attributes }, parent);
      if (!span.isRecording()) return next({ ...request, trace: travelling(span.spanContext()) });
      let pending: Promise<CallResponse>;
      try {
        pending = next({ ...request, trace: travelling(span.spanContext()) });
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(ended(span), failed(span));
    };

  const serverInterceptor: Interceptor = (next) =>
    function traceServer(request) {
      const caller = request.trace === undefined ? undefined : remote(request.trace);
      const parent = caller === undefined ? api.ROOT_CONTEXT : api.trace.setSpanContext(api.ROOT_CONTEXT, caller);
      // Unsampled upstream: no span, but the handler still runs in the caller's context, so
      // its own calls carry the decision on instead of starting traces of their own.
      if (followsParent && caller !== undefined && caller.traceFlags === 0) return api.context.with(parent, next, undefined, request);
      const shape = serverShape(request);
      const span = tracer.startSpan(shape.name, { kind: request.kind === "event" ? api.SpanKind.CONSUMER : api.SpanKind.SERVER, attributes: shape.attributes }, parent);
      if (!span.isRecording()) return api.context.with(api.trace.setSpan(parent, span), next, undefined, request);
      let pending: Promise<CallResponse>;
      try {
        pending = api.context.with(api.trace.setSpan(parent, span), next, undefined, request);
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(ended(span), failed(span));
    };

  return {
    clientInterceptor,
    serverInterceptor,
    tracer,
    api,
    // A collector that is down must not fail a stop: the spans are lost, and said so.
    flush: () => provider.forceFlush().catch(lost),
    async shutdown() {
      setTraceContextSource(undefined);
      await provider.shutdown().catch(lost);
      // Process-wide registrations released, so tracing can be started again (tests do).
      api.context.disable();
      api.propagation.disable();
      api.trace.disable();
    },
  };
}

function lost(error: unknown): void {
  console.error(`tracing: spans not exported: ${(error as Error)?.message ?? String(error)}`);
}

/** Most endpoints whose span name and attributes are kept; past it the cache starts over. */
const maxShapes = 1024;

/**
 * A span's name and attributes per endpoint, built once: the same strings and one frozen
 * object for every call of it (the SDK copies attributes into the span, never into this).
 */
function shapes(side: "client" | "server"): (request: CallRequest) => { name: string; attributes: Readonly<Record<string, string>> } {
  const cache = new Map<string, { name: string; attributes: Readonly<Record<string, string>> }>();
  return (request) => {
    const key = `${request.kind}\u0000${request.namespace}\u0000${request.service}\u0000${request.method}`;
    let shape = cache.get(key);
    if (shape === undefined) {
      if (cache.size >= maxShapes) cache.clear();
      const event = request.kind === "event";
      const name = event ? `${side === "client" ? "send" : "process"} ${request.method}` : `${request.service}/${request.method}`;
      shape = { name, attributes: Object.freeze(attributes(request)) };
      cache.set(key, shape);
    }
    return shape;
  };
}

/** The semantic-convention attributes of a request's span. */
function attributes(request: CallRequest): Record<string, string> {
  if (request.kind === "event") {
    return {
      "messaging.system": "nats",
      "messaging.destination.name": request.method,
      "messaging.operation.type": request.side === "client" ? "send" : "process",
      "messaging.consumer.group.name": request.service,
      "jetmicro.namespace": request.namespace,
    };
  }
  return {
    "rpc.system": "jetmicro",
    "rpc.service": request.service,
    "rpc.method": request.method,
    "jetmicro.kind": request.kind,
    "jetmicro.namespace": request.namespace,
  };
}
