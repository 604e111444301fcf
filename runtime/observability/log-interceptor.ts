/**
 * The log line of a handled call: a `warn` line for every failed call, event or actor command
 * (method, code, duration, trace id), a sampled `debug` line for successes. With the level
 * above `debug` successes cost one comparison.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { type CallResponse, callNext, type Interceptor, traceIdOf } from "../protocol/mod.ts";
import { createSampler, type Logger } from "./logger.ts";

/** Logs handled calls through `logger`: every failure, successes (at debug) up to `perSecond`. */
export function failedCallLogInterceptor(logger: Logger, perSecond = 100): Interceptor {
  const sampler = createSampler(perSecond);
  const debug = logger.enabled("debug");
  return (next) =>
    function logCall(request): Promise<CallResponse> {
      const began = performance.now();
      return callNext(next, request).then(
        (response) => {
          if (debug && sampler.take()) {
            logger.debug("call", {
              kind: request.kind,
              service: request.service,
              method: request.method,
              code: "ok",
              ms: round(performance.now() - began),
              trace_id: traceIdOf(request.trace),
              skipped: sampler.skipped || undefined,
            });
          }
          return response;
        },
        (error: unknown) => {
          const e = MicroError.from(error);
          logger.warn("call failed", {
            kind: request.kind,
            service: request.service,
            method: request.method,
            code: e.code,
            error: e.message,
            ms: round(performance.now() - began),
            trace_id: traceIdOf(request.trace),
          });
          throw error;
        },
      );
    };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
