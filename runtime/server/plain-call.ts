/**
 * The unary path of an endpoint whose service has no interceptors of its own (the common
 * case): the built-in steps of {@link ./dispatch.ts} — stats, error conversion, the mailbox
 * deadline, decode/encode — fused into one async function around the handler. The chain
 * costs a promise, a `then` and two closures per step per call; this costs one promise and
 * one await. It must behave exactly as the chain does (the same counters, the same errors,
 * reported the same way): `tests/runtime/server/` runs both.
 * @module
 */
import { codecForRequest } from "../codec/select.ts";
import { MicroError } from "../errors/micro-error.ts";
import type { CallResponse } from "../protocol/mod.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { toMessage } from "./codec-interceptor.ts";
import { type EndpointStats, recordError, recordTime } from "./endpoint-stats.ts";
import { callerErrors } from "./handler-errors.ts";
import type { IncomingCall } from "./incoming-call.ts";

/** Serves the calls of `endpoint` (unary, implemented) as the built-in chain would. */
export function plainCall(
  definition: ServiceDefinition,
  endpoint: EndpointDefinition,
  stats: EndpointStats,
  onHandlerError: (error: unknown, endpoint: string) => void,
  serviceId: string,
): (call: IncomingCall) => Promise<CallResponse> {
  const handler = endpoint.handler!;
  const { input, output } = endpoint.method;
  const callerError = callerErrors(onHandlerError, serviceId, endpoint.name);
  const service = definition.name;
  return async function servePlainCall(call) {
    const began = performance.now();
    stats.requests++;
    try {
      if (call.deadline <= Date.now()) {
        throw new MicroError("deadline_exceeded", `the call waited in the mailbox of ${service} past its deadline`);
      }
      const codec = codecForRequest(call.headers, call.data);
      call.codec = codec;
      call.message = codec.decode(input, call.data);
      let reply: unknown;
      try {
        reply = await handler(call.message as never, call.context);
      } finally {
        call.dispose();
      }
      const message = codec.encode(output, toMessage(output, reply));
      recordTime(stats, began);
      return { message };
    } catch (cause) {
      const error = callerError(cause);
      recordError(stats, error);
      recordTime(stats, began);
      throw error;
    }
  };
}
