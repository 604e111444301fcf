/**
 * Tracing with OpenTelemetry: a span per call, stream open, event delivery and actor command,
 * exported over OTLP/HTTP, configured by the standard `OTEL_*` variables. Off unless
 * configured ({@link tracingEnabled}); off, nothing of OpenTelemetry is even imported and no
 * observer is added, so the request path is what it is without tracing.
 *
 * Two call observers do the work (no step in a call's path; as interceptors for async context
 * mode). The client one begins a `CLIENT` (or `PRODUCER`) span as a child of the call's parent
 * (`request.trace`: the handler's span for `ctx.client` calls, or the `trace` call option) and
 * puts it on the call (`enterSpan`); the client sends it as the `traceparent`/`tracestate`
 * headers. The server one reads the caller's `request.trace`, begins a `SERVER` (`CONSUMER`
 * for events) span as its child and puts it on the call, from where the handler's context
 * takes it: `ctx.client` calls, `ctx.publish`
 * events and actor commands continue it, and `ctx.trace` (an event's or actor command's
 * `context.trace`) hands it to anything else. The gateway does the same with its HTTP span.
 *
 * The current span travels explicitly, not through async-context tracking: on Node 20,
 * AsyncLocalStorage makes every promise of the process pay a hook. `MICRO_TRACE_CONTEXT=async`
 * (or an OpenTelemetry context manager the application registered itself, as the NodeSDK does)
 * adds OpenTelemetry's context as well, so a client made outside a handler and the user's own
 * OpenTelemetry spans continue the trace by themselves; sends without a request to intercept
 * then read it through the protocol's {@link setTraceContextSource}.
 *
 * jetmicro's own spans are not OpenTelemetry SDK spans: they are plain records
 * (`span-record.ts`) with their endpoint's name and attributes shared, sent in batches by
 * `span-export.ts` and encoded for OTLP by `otlp-trace-encode.ts`. The SDK's span objects, their
 * attribute copies and its OTLP serialiser cost several times as much per call. User code's
 * spans go through the SDK provider registered here ({@link Tracing.tracer}), to the same
 * collector.
 *
 * Sampling is the standard `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG` (default
 * `parentbased_always_on`). Under a parent-based sampler a call whose caller was sampled out
 * makes no span: only its `traceparent` (flags `00`) travels on, so the whole trace stays
 * sampled out downstream at the cost of a header.
 *
 * Attributes follow the OpenTelemetry semantic conventions. `rpc.system` is `jetmicro`: the
 * request/reply protocol (headers, error codes, deadlines, streams) is jetmicro's own, carried
 * by NATS, which `network.transport`-like attributes cannot say and `nats` would misname (plain
 * NATS request/reply has none of it). Events are messaging spans with `messaging.system=nats`.
 * @module
 */
import type { Context, SpanContext, Tracer } from "@opentelemetry/api";
import { MicroError } from "../errors/micro-error.ts";
import {
  type CallObserver,
  type CallRequest,
  checkedTraceContext,
  childTraceContext,
  enterSpan,
  type Interceptor,
  isSampled,
  observersInterceptor,
  setTraceContextSource,
  spanIdOf,
  spanOf,
  type TraceContext,
  traceContextFromIds,
  traceIdOf,
} from "../protocol/mod.ts";
import { startSpanExport } from "./span-export.ts";
import { randomIds } from "./span-ids.ts";
import { type Attributes, type SpanShape, spanKind } from "./span-record.ts";
import { spanSampler } from "./trace-sampler.ts";
import { traceExportConfig } from "./tracing-config.ts";

/** A span started outside an interceptor (the gateway's HTTP spans); see {@link Tracing.startSpan}. */
export interface ActiveSpan {
  /** This span as it travels: the `traceparent` to send on or return. */
  readonly trace: TraceContext;
  /** Runs the span's work with this span current (in async context mode; otherwise just runs it). */
  run<T>(fn: () => T): T;
  /** Ends the span with its name and attributes, failed when `error` is given (a no-op for a span the sampler left out). */
  end(name: string, attributes: Attributes, error?: string): void;
}

/** A started tracer and its interceptors. */
export interface Tracing {
  /** Put on clients (and on `clientInterceptors` of services, for nested calls). In async context mode it reads the parent from the OpenTelemetry context too. */
  readonly clientInterceptor: Interceptor;
  /**
   * The same as an observer (`ClientOptions.observers`, a service's `clientObservers`): no step
   * in the call's path, what the runner uses unless the context mode is `async`.
   */
  readonly clientObserver: CallObserver;
  /**
   * Put on services (outermost of the user's interceptors). In async context mode it also runs
   * the rest of the call in the span's OpenTelemetry context.
   */
  readonly serverInterceptor: Interceptor;
  /**
   * The same as an observer (`defineService(..., { observers })`): no step in the call's path,
   * what the runner uses unless the context mode is `async` (an observer cannot run the rest of
   * the call inside a context).
   */
  readonly serverObserver: CallObserver;
  /**
   * Starts a span of `kind` (`server` for an incoming request) as a child of `parent` (a
   * checked incoming trace context), or of a new trace.
   */
  startSpan(kind: "server" | "internal", parent: TraceContext | undefined): ActiveSpan;
  /** True when the OpenTelemetry context carries the current span too (`MICRO_TRACE_CONTEXT=async`, or the application's own context manager). */
  readonly asyncContext: boolean;
  /** An OpenTelemetry SDK tracer for spans of one's own code, exported to the same collector. */
  readonly tracer: Tracer;
  /** The OpenTelemetry API the context is carried with. */
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

/** W3C trace flags: sampled. */
const sampledFlag = 1;

/**
 * Starts tracing unconditionally (see {@link processTracing} for the usual entry point), with
 * the exporter, sampler, batching and context mode `env` configures ({@link traceExportConfig}).
 *
 * Per call: a span id (and a trace id for a new trace) from a random pool, a `traceparent`
 * string, and at the end one record queued for export. The caller's span comes from the
 * request (`request.trace`: checked on arrival, or set from the handler's context by
 * `ctx.client`); the server's own span goes on the request (`enterSpan`) for the handler's
 * context. Only in `async` context mode (`MICRO_TRACE_CONTEXT=async`, or when the application
 * registered an OpenTelemetry context manager of its own, as the NodeSDK does) is the
 * OpenTelemetry context set and read as well. A call under an unsampled parent
 * (parent-based samplers) makes no record and passes the parent's context on.
 */
export async function startTracing(serviceName: string, env: Env = process.env): Promise<Tracing> {
  const config = traceExportConfig(env);
  const api = await import("@opentelemetry/api");
  const sdk = await import("@opentelemetry/sdk-trace-base");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { TraceState, W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const name = env.OTEL_SERVICE_NAME || serviceName;

  // User code's spans: the SDK, with the same sampler, batching and collector.
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
  const provider = new sdk.BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": name, "telemetry.sdk.name": "opentelemetry" }),
    sampler: samplers[config.sampler],
    spanProcessors: [new sdk.BatchSpanProcessor(exporter, config.batch)],
  });
  // An application that registered a context manager (the NodeSDK does) gets async context
  // without asking; otherwise it is ours to register, when asked for.
  const probe = api.ROOT_CONTEXT.setValue(Symbol("jetmicro.probe"), true);
  let registered = false;
  let asyncContext = api.context.with(probe, () => api.context.active() === probe);
  if (!asyncContext && config.context === "async") {
    const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
    registered = api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    asyncContext = registered;
  }
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);

  // jetmicro's own spans.
  const spans = startSpanExport(config, { "service.name": name, "telemetry.sdk.name": "jetmicro", "telemetry.sdk.language": "nodejs" }, lost);
  const sample = spanSampler(config.sampler, config.ratio);
  // Parent-based: an unsampled parent means an unsampled child, decided here without a span.
  const followsParent = config.sampler.startsWith("parentbased_");

  /** The OpenTelemetry context a span runs in (async mode): the root context with only that span set. */
  const contextOf = (trace: TraceContext, isRemote: boolean): Context => {
    const sc: SpanContext = { traceId: traceIdOf(trace)!, spanId: spanIdOf(trace), traceFlags: isSampled(trace) ? sampledFlag : 0, isRemote };
    if (trace.tracestate !== undefined) sc.traceState = new TraceState(trace.tracestate);
    return api.trace.setSpanContext(api.ROOT_CONTEXT, sc);
  };
  /** The current span of the OpenTelemetry context (async mode). */
  const currentSpan = (): TraceContext | undefined => {
    const sc = api.trace.getSpanContext(api.context.active());
    if (sc === undefined || !api.trace.isSpanContextValid(sc)) return undefined;
    return traceContextFromIds(sc.traceId, sc.spanId, (sc.traceFlags & sampledFlag) === 1, sc.traceState?.serialize());
  };
  if (asyncContext) setTraceContextSource(currentSpan);

  /** Queues a call's span, which took `ms` and ends now; failed with `error`'s code and message when given. */
  function record(shape: SpanShape, own: TraceContext, parent: TraceContext | undefined, ms: number, error?: MicroError) {
    const end = performance.now();
    spans.record({
      shape,
      trace: own,
      parent,
      start: end - ms,
      end,
      error: error?.message.slice(0, 1024),
      extra: error && { "rpc.response.status_code": error.code, "error.type": error.code },
    });
  }

  /** A new span's context: a child of `parent` (a checked context), or the root of a new trace; sampled as the sampler decides. */
  function childContext(parent: TraceContext | undefined): TraceContext {
    return childTraceContext(parent, randomIds, sample);
  }

  /**
   * One side's observer: the span begins when the call does (`started` puts it on the call:
   * the client sends it, the server's handler context takes it) and is recorded when the
   * call ended. Under an unsampled parent (parent-based samplers) no span begins; a server
   * then runs the call in its caller's context (`enterParent`), which a client sends as it is.
   */
  function callObserver(shapeOf: (request: CallRequest) => SpanShape, enterParent: boolean): CallObserver {
    return {
      started(request) {
        const parent = checkedTraceContext(request.trace);
        if (followsParent && parent !== undefined && !isSampled(parent)) {
          if (enterParent) enterSpan(request, parent);
          return;
        }
        enterSpan(request, childContext(parent));
      },
      succeeded(request, ms) {
        const own = spanOf(request);
        if (own !== undefined && isSampled(own)) record(shapeOf(request), own, checkedTraceContext(request.trace), ms);
      },
      failed(request, error, ms) {
        const own = spanOf(request);
        if (own !== undefined && isSampled(own)) record(shapeOf(request), own, checkedTraceContext(request.trace), ms, error);
      },
    };
  }

  /**
   * The server side as an observer, outside the service's interceptors and without a step of
   * its own in the call's path.
   */
  const serverObserver = callObserver(shapes("server"), true);
  /**
   * The client side as an observer (`ClientOptions.observers`): no interceptor, so a client
   * without others keeps its direct path.
   */
  const clientObserver = callObserver(shapes("client"), false);

  // The interceptors are the observers in a call's path, for async context mode: there a call
  // given no parent continues the OpenTelemetry context's span, and the rest of a served call
  // runs inside its span's context.
  const clientInterceptor: Interceptor = (next) => {
    const observed = observersInterceptor([clientObserver])!(next);
    return function traceClient(request) {
      const current = request.trace === undefined && asyncContext ? currentSpan() : undefined;
      return observed(current === undefined ? request : { ...request, trace: current });
    };
  };
  const serverInterceptor: Interceptor = (next) =>
    observersInterceptor([serverObserver])!(asyncContext ? function inSpanContext(request: CallRequest) {
      const span = spanOf(request)!;
      return api.context.with(contextOf(span, span === checkedTraceContext(request.trace)), next, undefined, request);
    } : next);

  const startSpan = (kind: "server" | "internal", parent: TraceContext | undefined): ActiveSpan => {
    const checked = checkedTraceContext(parent);
    const own = childContext(checked);
    const sampled = isSampled(own);
    const start = performance.now();
    return {
      trace: own,
      run: asyncContext ? (fn) => api.context.with(contextOf(own, false), fn) : (fn) => fn(),
      end(spanName, attributes, error) {
        if (!sampled) return;
        spans.record({
          shape: { name: spanName, kind: spanKind[kind], attributes },
          trace: own,
          parent: checked,
          start,
          end: performance.now(),
          error,
          extra: undefined,
        });
      },
    };
  };

  return {
    clientInterceptor,
    clientObserver,
    serverInterceptor,
    serverObserver,
    startSpan,
    asyncContext,
    tracer: provider.getTracer("jetmicro"),
    api,
    // A collector that is down must not fail a stop: the spans are lost, and said so.
    flush: () => Promise.all([spans.flush(), provider.forceFlush().catch(lostError)]).then(() => undefined),
    async shutdown() {
      setTraceContextSource(undefined);
      await Promise.all([spans.shutdown(), provider.shutdown().catch(lostError)]);
      // Process-wide registrations released, so tracing can be started again (tests do).
      if (registered) api.context.disable();
      api.propagation.disable();
      api.trace.disable();
    },
  };
}

function lost(message: string): void {
  console.error(message);
}

function lostError(error: unknown): void {
  console.error(`tracing: spans not exported: ${(error as Error)?.message ?? String(error)}`);
}

/** Most endpoints whose span name and attributes are kept; past it the cache starts over. */
const maxShapes = 1024;

/**
 * A span's name, kind and attributes per endpoint, built once: one frozen shape shared by
 * every call of it, encoded for OTLP on its first export.
 */
function shapes(side: "client" | "server"): (request: CallRequest) => SpanShape {
  const cache = new Map<string, SpanShape>();
  // The last shape per method name: the method string is the endpoint's own (its hash kept by
  // the engine), so the usual lookup builds no key.
  const byMethod = new Map<string, { readonly kind: string; readonly namespace: string; readonly service: string; readonly shape: SpanShape }>();
  return function shapeOf(request) {
    const last = byMethod.get(request.method);
    if (last !== undefined && last.kind === request.kind && last.service === request.service && last.namespace === request.namespace) return last.shape;
    const key = `${request.kind}\u0000${request.namespace}\u0000${request.service}\u0000${request.method}`;
    let shape = cache.get(key);
    if (shape === undefined) {
      if (cache.size >= maxShapes) cache.clear(), byMethod.clear();
      const event = request.kind === "event";
      const name = event ? `${side === "client" ? "send" : "process"} ${request.method}` : `${request.service}/${request.method}`;
      const kind = event ? (side === "client" ? spanKind.producer : spanKind.consumer) : side === "client" ? spanKind.client : spanKind.server;
      shape = { name, kind, attributes: Object.freeze(attributes(request)) };
      cache.set(key, shape);
    }
    if (byMethod.size < maxShapes) byMethod.set(request.method, { kind: request.kind, namespace: request.namespace, service: request.service, shape });
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
