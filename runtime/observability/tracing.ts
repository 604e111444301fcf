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
 * Attributes follow the OpenTelemetry semantic conventions. `rpc.system` is `jetmicro`: the
 * request/reply protocol (headers, error codes, deadlines, streams) is jetmicro's own, carried
 * by NATS, which `network.transport`-like attributes cannot say and `nats` would misname (plain
 * NATS request/reply has none of it). Events are messaging spans with `messaging.system=nats`.
 * @module
 */
import type { Context, Span, Tracer } from "@opentelemetry/api";
import { MicroError } from "../errors/micro-error.ts";
import { type CallRequest, type CallResponse, type Interceptor, setTraceContextSource, type TraceContext } from "../protocol/mod.ts";

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

/** Starts tracing unconditionally (see {@link processTracing} for the usual entry point). */
export async function startTracing(serviceName: string, env: Env = process.env): Promise<Tracing> {
  const api = await import("@opentelemetry/api");
  const { BasicTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-base");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { W3CTraceContextPropagator } = await import("@opentelemetry/core");
  const { AsyncLocalStorageContextManager } = await import("@opentelemetry/context-async-hooks");
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  let exporter;
  if (protocol === "http/json") exporter = new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
  else if (protocol === "http/protobuf") exporter = new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
  else throw new MicroError("invalid_argument", `OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or http/json (jetmicro exports over OTLP/HTTP), got "${protocol}"`);

  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": env.OTEL_SERVICE_NAME || serviceName, "telemetry.sdk.name": "opentelemetry" }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: Number(env.OTEL_BSP_SCHEDULE_DELAY) || 1000 })],
  });
  api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  const tracer = provider.getTracer("jetmicro");
  const propagator = new W3CTraceContextPropagator();

  const toContext = (parent: Context, trace: TraceContext | undefined): Context => {
    if (trace === undefined) return api.ROOT_CONTEXT;
    return propagator.extract(parent, trace, { get: (c, k) => (c as unknown as Record<string, string | undefined>)[k], keys: (c) => Object.keys(c) });
  };
  const fromContext = (ctx: Context): TraceContext | undefined => {
    const carrier: { traceparent?: string; tracestate?: string } = {};
    propagator.inject(ctx, carrier, { set: (c, k, v) => void ((c as Record<string, string>)[k] = v) });
    return carrier.traceparent === undefined ? undefined : (carrier as TraceContext);
  };
  setTraceContextSource(() => fromContext(api.context.active()));

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

  const clientInterceptor: Interceptor = (next) =>
    function traceClient(request) {
      const parent = api.context.active();
      const event = request.kind === "event";
      const span = tracer.startSpan(event ? `send ${request.method}` : `${request.service}/${request.method}`, {
        kind: event ? api.SpanKind.PRODUCER : api.SpanKind.CLIENT,
        attributes: attributes(request),
      }, parent);
      let pending: Promise<CallResponse>;
      try {
        pending = next({ ...request, trace: fromContext(api.trace.setSpan(parent, span)) });
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(ended(span), failed(span));
    };

  const serverInterceptor: Interceptor = (next) =>
    function traceServer(request) {
      const parent = toContext(api.ROOT_CONTEXT, request.trace);
      const event = request.kind === "event";
      const span = tracer.startSpan(event ? `process ${request.method}` : `${request.service}/${request.method}`, {
        kind: event ? api.SpanKind.CONSUMER : api.SpanKind.SERVER,
        attributes: attributes(request),
      }, parent);
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
    flush: () => provider.forceFlush().catch((error: unknown) => console.error(`tracing: spans not exported: ${(error as Error)?.message ?? String(error)}`)),
    async shutdown() {
      setTraceContextSource(undefined);
      await provider.shutdown();
    },
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
