/**
 * Answers the unary calls of one service instance, however they arrived (NATS or the memory
 * transport), through one interceptor chain per endpoint, composed once at start:
 *
 * 1. the endpoint's counters for `$SRV.STATS`;
 * 2. bugs reported, every failure a `MicroError`;
 * 3. a call that waited in the mailbox past its deadline is refused;
 * 4. the payload decoded, the reply encoded;
 * 4b. the service's observers told how the call ended (outside its interceptors);
 * 5. the service's own interceptors (`defineService(..., { interceptors })`), first outermost;
 * 6. the handler.
 *
 * Steps 1-4 run fused in one function ({@link plainCall}) around the rest: the same behaviour
 * as a chain of interceptors at a fraction of the promises per call. Calls that are refused
 * whatever they carry (streaming methods, unimplemented ones) and calls to unknown endpoints
 * run steps 1-2 as interceptors ({@link statsInterceptor}, {@link handlerErrorsInterceptor}).
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { applyInterceptors, type CallNext, type CallResponse, type Interceptor, observing, type RequestHeaders, spanOf } from "../protocol/mod.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { type EndpointStats, newStats } from "./endpoint-stats.ts";
import { handlerErrorsInterceptor } from "./handler-errors.ts";
import type { InstanceInfo } from "./handler-context.ts";
import { callContextKey, IncomingCall, type WithCallContext } from "./incoming-call.ts";
import { plainCall } from "./plain-call.ts";
import { statsInterceptor } from "./stats-interceptor.ts";

/**
 * Answers one request of a service: resolves with the encoded reply as the response message;
 * rejects with a `MicroError` (other throwables are reported to `onHandlerError` first and
 * become `internal`).
 */
export type Dispatch = (endpointName: string, data: Uint8Array, headers: RequestHeaders, arrived: number) => Promise<CallResponse>;

/** A service's dispatch and the counters it keeps per endpoint name. */
export interface Dispatcher {
  readonly dispatch: Dispatch;
  readonly stats: ReadonlyMap<string, EndpointStats>;
}

/** Builds the {@link Dispatch} of one service instance. */
export function createDispatch(
  definition: ServiceDefinition,
  info: InstanceInfo,
  onHandlerError: (error: unknown, endpoint: string) => void,
): Dispatcher {
  const chains = new Map<string, { name: string; serve: CallNext }>();
  const stats = new Map<string, EndpointStats>();
  const userInterceptors = definition.interceptors ?? [];
  const observers = observing(definition.observers);
  for (const endpoint of definition.endpoints) {
    const counters = newStats();
    stats.set(endpoint.name, counters);
    const refusal = refused(definition, endpoint);
    const builtIn: Interceptor[] = [statsInterceptor(counters), handlerErrorsInterceptor(onHandlerError, info.id, endpoint.name)];
    const serve = refusal !== undefined
      ? applyInterceptors(() => Promise.reject(refusal), builtIn)
      : plainCall(
        definition,
        endpoint,
        counters,
        onHandlerError,
        info.id,
        userInterceptors.length === 0 ? undefined : applyInterceptors(handlerStep(definition, endpoint), userInterceptors),
        observers,
      ) as CallNext;
    chains.set(endpoint.name, { name: endpoint.name, serve });
    chains.set(endpoint.fullName, { name: endpoint.name, serve });
  }
  const unknown = newStats();
  stats.set("", unknown);
  const endpointList = definition.endpoints.map((e) => e.name).join(", ");
  const unknownEndpoint = applyInterceptors(
    (request) => Promise.reject(new MicroError("unimplemented", `${definition.name} has no endpoint "${request.method}" (endpoints: ${endpointList})`, { detail: request.method })),
    [statsInterceptor(unknown), handlerErrorsInterceptor(onHandlerError, info.id, "")],
  );

  const dispatch: Dispatch = function dispatch(endpointName, data, headers, arrived) {
    const chain = chains.get(endpointName);
    const call = new IncomingCall(info, chain?.name ?? endpointName, data, headers, arrived, definition.defaultTimeoutMs);
    return (chain?.serve ?? unknownEndpoint)(call);
  };
  return { dispatch, stats };
}

/** Why calls to `endpoint` are refused whatever they carry, or undefined when it answers them. */
function refused(definition: ServiceDefinition, endpoint: EndpointDefinition): MicroError | undefined {
  if (endpoint.method.methodKind !== "unary") {
    return new MicroError("failed_precondition", `${endpoint.name} is a ${endpoint.method.methodKind.replace("_", "-")} method: open it as a stream, not as a unary call`, {
      detail: endpoint.name,
    });
  }
  if (endpoint.handler === undefined) {
    return new MicroError("unimplemented", `${endpoint.name} is not implemented by ${definition.name} ${definition.version}`, { detail: endpoint.name });
  }
  return undefined;
}

/** The last step: runs the handler with the call's context. */
function handlerStep(definition: ServiceDefinition, endpoint: EndpointDefinition): CallNext {
  const handler = endpoint.handler!;
  return async function runHandler(request) {
    const context = (request as WithCallContext)[callContextKey];
    if (context === undefined) {
      throw new MicroError("internal", `an interceptor of ${definition.name} passed on a request it did not get: pass { ...request } with the changes`);
    }
    // An interceptor may have passed on changed metadata: the handler (and its nested calls)
    // see it. The request the server handed out reads the context's own (parsed on first use).
    if (request !== context.request) context.useMetadata(request.metadata);
    const span = spanOf(request);
    if (span !== undefined) context.span = span;
    return { message: await handler(request.message as never, context) };
  };
}
