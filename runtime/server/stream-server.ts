/**
 * Streams of one service instance: finds the endpoint of a stream open, serves it and keeps
 * the endpoint's counters (a stream counts as one request; its handler time is its lifetime).
 * @module
 */
import type { Msg } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { type EndpointStats, recordError, recordTime } from "./endpoint-stats.ts";
import { applyInterceptors, type CallNext, type RequestHeaders, streamHeader, withObservers } from "../protocol/mod.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { serveStream, streamHandlerStep, type StreamServeOptions } from "./serve-stream.ts";

/** Serves the stream opens of one instance. */
export interface StreamServer {
  /** True when `headers` belong to a stream open rather than a unary call. */
  isOpen(headers: RequestHeaders): boolean;
  /** Serves a stream open; rejects with a `MicroError` when the stream cannot be accepted. */
  serve(msg: Msg, endpointName: string, headers: RequestHeaders, arrived: number): Promise<void>;
}

/** Builds the {@link StreamServer} of a service instance, sharing its per-endpoint `stats`. */
export function createStreamServer(
  definition: ServiceDefinition,
  stats: ReadonlyMap<string, EndpointStats>,
  options: StreamServeOptions,
): StreamServer {
  // Each streaming endpoint's interceptor chain, composed once: the service's interceptors around the handler.
  const endpoints = new Map<string, { endpoint: EndpointDefinition; open: CallNext }>();
  // The observers see each open outside the interceptors, as they see unary calls.
  const streamInterceptors = withObservers(definition.interceptors, definition.observers, "stream");
  for (const endpoint of definition.endpoints) {
    const open = endpoint.stream === undefined ? refuse : applyInterceptors(streamHandlerStep(endpoint, definition.name), streamInterceptors);
    endpoints.set(endpoint.name, { endpoint, open });
    endpoints.set(endpoint.fullName, { endpoint, open });
  }
  const list = definition.endpoints.map((e) => e.name).join(", ");
  // Each open stream holds a mailbox slot for its whole life: a bounded share of them.
  const maxStreams = definition.mailbox.streams;
  let open = 0;
  return {
    isOpen: (headers) => headers.get(streamHeader) !== undefined,
    async serve(msg, endpointName, headers, arrived) {
      const entry = endpoints.get(endpointName);
      const endpoint = entry?.endpoint;
      const counters = stats.get(endpoint?.name ?? "");
      const began = performance.now();
      if (counters !== undefined) counters.requests++;
      let failure: MicroError | undefined;
      try {
        if (endpoint === undefined) {
          throw new MicroError("unimplemented", `${definition.name} has no endpoint "${endpointName}" (endpoints: ${list})`, { detail: endpointName });
        }
        if (open >= maxStreams) {
          throw new MicroError("resource_exhausted", `${definition.name} has ${open} streams open, its most (mailbox.streams); retry later`);
        }
        open++;
        try {
          failure = await serveStream(msg, endpoint, entry!.open, headers, arrived, options);
        } finally {
          open--;
        }
      } catch (error) {
        failure = MicroError.from(error);
        throw failure;
      } finally {
        if (counters !== undefined) {
          recordTime(counters, began);
          if (failure !== undefined) recordError(counters, failure);
        }
      }
    },
  };
}

// serveStream refuses unary and unimplemented endpoints before it opens anything.
const refuse: CallNext = () => Promise.reject(new MicroError("internal", "unreachable: the endpoint cannot stream"));
