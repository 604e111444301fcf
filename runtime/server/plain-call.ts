/**
 * The unary path of an endpoint: the built-in steps of {@link ./dispatch.ts} — stats, error
 * conversion, the mailbox deadline, decode/encode — fused into one async function around the
 * handler, or around the chain of the service's own interceptors (metrics, tracing, auth) when
 * it has some. As a chain of interceptors those steps cost a promise, a `then` and two
 * closures each per call (about 15 µs of CPU and its garbage on Node); fused they cost one
 * promise and one await. The service's observers ({@link Observing}: the failed-call log,
 * request metrics) are told how the call ended here, with the time already measured for the
 * stats, so observing a call adds no promise and keeps a service without interceptors on
 * the handler-only path. It must behave exactly as the steps would one by one (the same counters, the same
 * errors, reported the same way): `tests/runtime/server/` checks it with and without
 * interceptors.
 * @module
 */
import { codecForRequest } from "../codec/select.ts";
import { MicroError } from "../errors/micro-error.ts";
import { type CallNext, type CallResponse, type Observing, spanOf } from "../protocol/mod.ts";
import type { EndpointDefinition, ServiceDefinition } from "../service/types.ts";
import { toMessage } from "./reply-message.ts";
import { type EndpointStats, recordError, recordTime } from "./endpoint-stats.ts";
import { callerErrors } from "./handler-errors.ts";
import type { IncomingCall } from "./incoming-call.ts";

/**
 * Serves the calls of `endpoint` (unary, implemented). `userChain`, when the service has
 * interceptors of its own, is them around the handler step: it is given the call's plain
 * request ({@link IncomingCall.toRequest}) once the payload is decoded, and its response's
 * message is encoded as the reply. `observing` is told the call itself, outside the chain.
 */
export function plainCall(
  definition: ServiceDefinition,
  endpoint: EndpointDefinition,
  stats: EndpointStats,
  onHandlerError: (error: unknown, endpoint: string) => void,
  serviceId: string,
  userChain?: CallNext,
  observing?: Observing,
): (call: IncomingCall) => Promise<CallResponse> {
  const started = observing?.started;
  const succeeded = observing?.succeeded;
  const failed = observing?.failed;
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
      if (started !== undefined) {
        started(call);
        // A span an observer began (tracing) is the one the handler's nested calls continue.
        const span = spanOf(call);
        if (span !== undefined) call.context.span = span;
      }
      let reply: unknown;
      try {
        reply = userChain === undefined ? await handler(call.message as never, call.context) : (await userChain(call.toRequest())).message;
      } finally {
        call.dispose();
      }
      const message = codec.encode(output, toMessage(output, reply));
      const ms = recordTime(stats, began);
      if (succeeded !== undefined) succeeded(call, ms);
      return { message };
    } catch (cause) {
      const error = callerError(cause);
      recordError(stats, error);
      const ms = recordTime(stats, began);
      if (failed !== undefined) failed(call, error, ms);
      throw error;
    }
  };
}
