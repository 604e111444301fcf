/**
 * The built-in interceptor that turns whatever a call failed with into the `MicroError` its
 * caller gets. A throwable that is not a `MicroError` is a bug (in a handler or an
 * interceptor): it is reported with its stack, and the caller gets `internal`.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import type { CallResponse, Interceptor } from "../protocol/mod.ts";

/** Reports bugs to `onHandlerError` and rejects with a `MicroError` naming `serviceId`. */
export function handlerErrorsInterceptor(onHandlerError: (error: unknown, endpoint: string) => void, serviceId: string): Interceptor {
  function callerError(cause: unknown, endpoint: string): MicroError {
    if (!MicroError.is(cause)) onHandlerError(cause, endpoint);
    const error = MicroError.from(cause);
    return error.serviceId === undefined ? withServiceId(error, serviceId) : error;
  }
  return (next) =>
    function reportErrors(request): Promise<CallResponse> {
      try {
        return next(request).then(undefined, (cause: unknown) => {
          throw callerError(cause, request.method);
        });
      } catch (cause) {
        return Promise.reject(callerError(cause, request.method));
      }
    };
}

function withServiceId(error: MicroError, serviceId: string): MicroError {
  return new MicroError(error.code, error.message, { detail: error.detail, metadata: error.metadata, serviceId, cause: error.cause });
}
