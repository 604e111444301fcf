/**
 * The built-in interceptor that turns whatever a call failed with into the `MicroError` its
 * caller gets. A throwable that is not a `MicroError` is a bug (in a handler or an
 * interceptor): it is reported with its stack, and the caller gets `internal`.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import type { CallResponse, Interceptor } from "../protocol/mod.ts";

/**
 * Reports bugs in calls of `endpoint` to `onHandlerError` and rejects with a `MicroError`
 * naming `serviceId`. One per endpoint, so no closure is made per call.
 */
export function handlerErrorsInterceptor(onHandlerError: (error: unknown, endpoint: string) => void, serviceId: string, endpoint: string): Interceptor {
  const callerError = callerErrors(onHandlerError, serviceId, endpoint);
  function rethrow(cause: unknown): never {
    throw callerError(cause);
  }
  return (next) =>
    function reportErrors(request): Promise<CallResponse> {
      try {
        return next(request).then(undefined, rethrow);
      } catch (cause) {
        return Promise.reject(callerError(cause));
      }
    };
}

/**
 * What {@link handlerErrorsInterceptor} does to one failure, as a function: reports a bug
 * (anything not a `MicroError`) and returns the `MicroError` the caller gets, naming `serviceId`.
 */
export function callerErrors(onHandlerError: (error: unknown, endpoint: string) => void, serviceId: string, endpoint: string): (cause: unknown) => MicroError {
  return function callerError(cause: unknown): MicroError {
    if (!MicroError.is(cause)) onHandlerError(cause, endpoint);
    const error = MicroError.from(cause);
    return error.serviceId === undefined ? withServiceId(error, serviceId) : error;
  };
}

function withServiceId(error: MicroError, serviceId: string): MicroError {
  return new MicroError(error.code, error.message, { detail: error.detail, metadata: error.metadata, serviceId, cause: error.cause });
}
