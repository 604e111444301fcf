/**
 * The log line of a handled call: a `warn` line for every failed call, stream open, event or
 * actor command (kind, service, method, code, error, duration, trace id), a sampled `debug`
 * line for successes. An observer, not an interceptor: the server tells it how a call ended,
 * so with the level above `debug` a successful call costs nothing at all.
 * @module
 */
import { type CallObserver, traceIdOf } from "../protocol/mod.ts";
import { createSampler, type Logger } from "./logger.ts";

/** Logs handled calls through `logger`: every failure, successes (at debug) up to `perSecond`. */
export function callLogObserver(logger: Logger, perSecond = 100): CallObserver {
  const failed: CallObserver["failed"] = function logFailure(request, error, ms) {
    logger.warn("call failed", {
      kind: request.kind,
      service: request.service,
      method: request.method,
      code: error.code,
      error: error.message,
      ms: round(ms),
      trace_id: traceIdOf(request.trace),
    });
  };
  if (!logger.enabled("debug")) return { failed };
  const sampler = createSampler(perSecond);
  return {
    failed,
    succeeded(request, ms) {
      if (!sampler.take()) return;
      logger.debug("call", {
        kind: request.kind,
        service: request.service,
        method: request.method,
        code: "ok",
        ms: round(ms),
        trace_id: traceIdOf(request.trace),
        skipped: sampler.skipped || undefined,
      });
    },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
