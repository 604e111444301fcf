/**
 * Streams of one service instance: finds the endpoint of a stream open, serves it and keeps
 * the endpoint's counters (a stream counts as one request; its handler time is its lifetime).
 * @module
 */
import type { Msg } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { type EndpointStats, recentSize } from "../server/dispatch.ts";
import { limitText } from "../protocol/mod.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import type { RequestHeaders } from "../protocol/mod.ts";
import { serveStream, type StreamServeOptions } from "./serve-stream.ts";
import { streamHeader } from "../protocol/mod.ts";

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
  const endpoints = new Map<string, EndpointDefinition>();
  for (const e of definition.endpoints) {
    endpoints.set(e.name, e);
    endpoints.set(e.fullName, e);
  }
  const list = definition.endpoints.map((e) => e.name).join(", ");
  return {
    isOpen: (headers) => headers.get(streamHeader) !== undefined,
    async serve(msg, endpointName, headers, arrived) {
      const endpoint = endpoints.get(endpointName);
      const counters = stats.get(endpoint?.name ?? "");
      const began = performance.now();
      if (counters !== undefined) counters.requests++;
      let failure: MicroError | undefined;
      try {
        if (endpoint === undefined) {
          throw new MicroError("unimplemented", `${definition.name} has no endpoint "${endpointName}" (endpoints: ${list})`, { detail: endpointName });
        }
        failure = await serveStream(msg, endpoint, headers, arrived, options);
      } catch (error) {
        failure = MicroError.from(error);
        throw failure;
      } finally {
        if (counters !== undefined) {
          const ms = performance.now() - began;
          counters.processingNs += ms * 1e6;
          counters.recent[(counters.requests - 1) % recentSize] = ms;
          if (failure !== undefined) {
            counters.errors++;
            counters.lastError = limitText(`${failure.code}: ${failure.message}`);
          }
        }
      }
    },
  };
}
