import { create, type DescMessage, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { codecForRequest } from "../codec/select.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { deadlineFromHeader, limitText, timeoutHeader } from "../protocol/mod.ts";
import type { RequestHeaders } from "../protocol/mod.ts";
import { CallContext, type InstanceInfo } from "./handler-context.ts";

/**
 * Answers one request of a service, independent of how it arrived: finds the endpoint, picks
 * the codec, derives the deadline, decodes, runs the handler and encodes the reply. Resolves
 * with the reply payload; rejects with a `MicroError` (other throwables are reported to
 * `onHandlerError` first and become `internal`).
 */
export type Dispatch = (endpointName: string, data: Uint8Array, headers: RequestHeaders, arrived: number) => Promise<Uint8Array>;

/** Counters of one endpoint (and one more, under `""`, for calls to unknown endpoints). */
export interface EndpointStats {
  requests: number;
  errors: number;
  /** Total handler time (decode, handler, encode) in nanoseconds. */
  processingNs: number;
  /** The message of the last error, "" if none. */
  lastError: string;
  /** Handler times in ms of the latest calls (a ring of {@link recentSize}), for percentiles. */
  readonly recent: Float64Array;
}

/** How many recent handler times each endpoint keeps for percentiles. */
export const recentSize = 1024;

function newStats(): EndpointStats {
  return { requests: 0, errors: 0, processingNs: 0, lastError: "", recent: new Float64Array(recentSize) };
}

/** The `p`-th percentile (0-100) of the recent handler times, in ms (0 before any call). */
export function percentile(stats: EndpointStats, p: number): number {
  const count = Math.min(stats.requests, recentSize);
  if (count === 0) return 0;
  const sorted = stats.recent.slice(0, count).sort();
  return sorted[Math.min(count - 1, Math.floor((p / 100) * count))]!;
}

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
  const endpoints = new Map<string, { endpoint: EndpointDefinition; stats: EndpointStats }>();
  const stats = new Map<string, EndpointStats>();
  for (const endpoint of definition.endpoints) {
    const counters = newStats();
    stats.set(endpoint.name, counters);
    endpoints.set(endpoint.name, { endpoint, stats: counters });
    endpoints.set(endpoint.fullName, { endpoint, stats: counters });
  }
  const unknown = newStats();
  stats.set("", unknown);
  const endpointList = definition.endpoints.map((e) => e.name).join(", ");

  const dispatch: Dispatch = async function dispatch(endpointName, data, headers, arrived) {
    const began = performance.now();
    const entry = endpoints.get(endpointName);
    const counters = entry?.stats ?? unknown;
    counters.requests++;
    let context: CallContext | undefined;
    try {
      const endpoint = entry?.endpoint;
      if (endpoint === undefined) {
        throw new MicroError("unimplemented", `${definition.name} has no endpoint "${endpointName}" (endpoints: ${endpointList})`, {
          detail: endpointName,
        });
      }
      if (endpoint.method.methodKind !== "unary") {
        throw new MicroError("failed_precondition", `${endpoint.name} is a ${endpoint.method.methodKind.replace("_", "-")} method: open it as a stream, not as a unary call`, {
          detail: endpoint.name,
        });
      }
      if (endpoint.handler === undefined) {
        throw new MicroError("unimplemented", `${endpoint.name} is not implemented by ${definition.name} ${definition.version}`, {
          detail: endpoint.name,
        });
      }
      const codec = codecForRequest(headers, data);
      const deadline = deadlineFromHeader(headers.get(timeoutHeader), arrived, definition.defaultTimeoutMs);
      if (deadline <= Date.now()) {
        throw new MicroError("deadline_exceeded", `the call waited in the mailbox of ${definition.name} past its deadline`);
      }
      const request = codec.decode(endpoint.method.input, data);
      context = new CallContext(info, endpoint.name, headers, deadline);
      const result = await endpoint.handler(request, context);
      return codec.encode(endpoint.method.output, toMessage(endpoint.method.output, result));
    } catch (cause) {
      // Anything but a MicroError is a bug in the handler: worth a log line with its stack.
      if (!MicroError.is(cause)) onHandlerError(cause, endpointName);
      const error = MicroError.from(cause);
      counters.errors++;
      counters.lastError = limitText(`${error.code}: ${error.message}`);
      throw error.serviceId === undefined ? withServiceId(error, info.id) : error;
    } finally {
      context?.dispose();
      const ms = performance.now() - began;
      counters.processingNs += ms * 1e6;
      // requests was counted on entry, so this call's slot is requests - 1.
      counters.recent[(counters.requests - 1) % recentSize] = ms;
    }
  };
  return { dispatch, stats };
}

function toMessage(schema: DescMessage, value: unknown): MessageShape<DescMessage> {
  if (isMessage(value, schema)) return value;
  if (value === undefined || value === null || typeof value !== "object") {
    throw new MicroError("internal", `handler returned ${value === null ? "null" : typeof value}, expected a ${schema.typeName}`);
  }
  return create(schema, value as Record<string, unknown>);
}

function withServiceId(error: MicroError, serviceId: string): MicroError {
  return new MicroError(error.code, error.message, { detail: error.detail, metadata: error.metadata, serviceId, cause: error.cause });
}
