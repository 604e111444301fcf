/**
 * The built-in client interceptor of nested calls (`ctx.client(...)` in a handler): the call
 * carries the metadata of the call being handled, never outlives its deadline, is canceled
 * with it, and continues its span (so a trace needs no async-context tracking).
 * @module
 */
import type { Interceptor } from "../protocol/mod.ts";
import type { ParentCall } from "./types.ts";

/**
 * Propagates `parent`'s metadata (under the call's own), deadline, signal and span (unless the
 * call names its own) to every call.
 */
export function parentCallInterceptor(parent: ParentCall): Interceptor {
  return (next) =>
    function propagateParent(request) {
      const deadline = request.deadline === undefined || parent.deadline < request.deadline ? parent.deadline : request.deadline;
      return next({
        ...request,
        metadata: { ...parent.metadata, ...request.metadata },
        deadline,
        signal: request.signal ?? parent.signal,
        trace: request.trace ?? parent.trace,
      });
    };
}
