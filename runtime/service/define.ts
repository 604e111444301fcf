import type { DescMessage, DescService } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, assertObservers, assertToken, assertTopic, maxTimeoutMs } from "../protocol/mod.ts";
import { defaultServiceName, endpointFullName, endpointName } from "./names.ts";
import type { EndpointDefinition, ServiceDefinition, ServiceImpl, ServiceOptions, StreamingHandler, UnaryHandler } from "./types.ts";

const serviceTypes = new Set(["srv", "api", "web"]);

/**
 * Defines a service from a generated protobuf descriptor and plain async handlers.
 * Methods left out answer `unimplemented`. A module in `services/` default-exports the result.
 *
 * @example
 * ```ts
 * import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
 * export default defineService(Greeter, { version: "1.0.0" }, {
 *   sayHello: async (req) => ({ message: `Hello ${req.name}` }),
 * });
 * ```
 */
export function defineService<S extends DescService>(
  descriptor: S,
  options: ServiceOptions,
  impl: Partial<ServiceImpl<S>>,
): ServiceDefinition<S> {
  const name = options.name ?? defaultServiceName(descriptor);
  assertToken("service name", name);
  const type = options.type ?? "srv";
  if (!serviceTypes.has(type)) throw new MicroError("invalid_argument", `service type "${type}" must be srv, api or web`);
  if (options.namespace !== undefined) assertNamespace(options.namespace);
  if (type === "api") assertApiMethods(descriptor);
  const capacity = positiveInteger("mailbox.capacity", options.mailbox?.capacity ?? 1000, 0);
  const concurrency = positiveInteger("mailbox.concurrency", options.mailbox?.concurrency ?? 100, 1);
  const streams = positiveInteger("mailbox.streams", options.mailbox?.streams ?? Math.max(1, Math.floor(concurrency / 2)), 1, concurrency);
  const defaultTimeoutMs = positiveInteger("defaultTimeoutMs", options.defaultTimeoutMs ?? 30_000, 1, maxTimeoutMs);

  for (const subscription of options.subscriptions ?? []) assertTopic(subscription.filter, true);
  for (const interceptor of [...(options.interceptors ?? []), ...(options.clientInterceptors ?? [])]) {
    if (typeof interceptor !== "function") throw new MicroError("invalid_argument", "each interceptor must be a function (next) => (request) => Promise<response>");
  }
  assertObservers(options.observers);
  assertObservers(options.clientObservers);
  const handlers = impl as Record<string, unknown>;
  for (const key of Object.keys(handlers)) {
    if (!(key in descriptor.method)) {
      const known = Object.keys(descriptor.method).join(", ");
      throw new MicroError("invalid_argument", `${descriptor.typeName} has no method "${key}" (methods: ${known})`);
    }
    if (typeof handlers[key] !== "function") {
      throw new MicroError("invalid_argument", `handler "${key}" of ${descriptor.typeName} must be a function`);
    }
  }

  const endpoints: EndpointDefinition[] = descriptor.methods.map((method) => ({
    name: endpointName(method),
    fullName: endpointFullName(method),
    method,
    handler: method.methodKind === "unary"
      ? (handlers[method.localName] as UnaryHandler<DescMessage, DescMessage> | undefined)
      : undefined,
    stream: method.methodKind === "unary" ? undefined : (handlers[method.localName] as StreamingHandler | undefined),
  }));

  return {
    kind: "jetmicro.service",
    descriptor,
    name,
    version: options.version ?? "latest",
    type,
    metadata: { ...options.metadata },
    namespace: options.namespace,
    mailbox: { capacity, concurrency, streams },
    defaultTimeoutMs,
    endpoints,
    subscriptions: [...(options.subscriptions ?? [])],
    interceptors: [...(options.interceptors ?? [])],
    clientInterceptors: [...(options.clientInterceptors ?? [])],
    clientObservers: [...(options.clientObservers ?? [])],
    observers: [...(options.observers ?? [])],
  };
}

/** True when `value` is what {@link defineService} returns. */
export function isServiceDefinition(value: unknown): value is ServiceDefinition {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "jetmicro.service";
}

/**
 * An API service answers HTTP: the gateway sends every endpoint a `micro.api.v1.Request` and
 * turns the `micro.api.v1.Response` into the HTTP reply, so other message types cannot work.
 */
function assertApiMethods(descriptor: DescService): void {
  for (const method of descriptor.methods) {
    if (method.input.typeName !== "micro.api.v1.Request" || method.output.typeName !== "micro.api.v1.Response") {
      throw new MicroError(
        "invalid_argument",
        `${descriptor.typeName}/${method.name} of an api service must take micro.api.v1.Request and return micro.api.v1.Response (got ${method.input.typeName} -> ${method.output.typeName})`,
        { detail: method.name },
      );
    }
  }
}

function positiveInteger(what: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new MicroError("invalid_argument", `${what} must be an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}, got ${value}`);
  }
  return value;
}
