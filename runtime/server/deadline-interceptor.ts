/**
 * The built-in interceptor that refuses a call whose deadline passed while it waited in the
 * mailbox: its caller has stopped waiting, so running the handler would be wasted work.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import type { Interceptor } from "../protocol/mod.ts";

/** Rejects with `deadline_exceeded` a call that reaches it after its deadline. */
export function deadlineInterceptor(service: string): Interceptor {
  return (next) =>
    function checkDeadline(request) {
      if (request.deadline !== undefined && request.deadline <= Date.now()) {
        throw new MicroError("deadline_exceeded", `the call waited in the mailbox of ${service} past its deadline`);
      }
      return next(request);
    };
}
