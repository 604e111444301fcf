/**
 * Attempts for calls sent to a service's queue subject (no discovery): a call safe to repeat
 * (`idempotent`) with an `attemptTimeoutMs` is sent again when one send got no reply within
 * that time, until its deadline. Without discovery the client cannot know which node holds a
 * call, so a node or a NATS server that died while holding it would otherwise keep the caller
 * waiting until the deadline: a request or its reply in flight through a NATS server that dies
 * is lost (core NATS delivers at most once). NATS picks the instance of each send.
 *
 * A send that timed out may still be running on a node that is merely slow: each one adds a
 * copy of the call to that node's work. So a call is sent at most {@link maxAttempts} times,
 * as a routed one is, and the last send waits for the rest of the deadline.
 * @module
 */
import type { MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { wasNotDelivered } from "../protocol/mod.ts";
import { maxAttempts } from "./routed-request.ts";
import type { Transport, TransportReply } from "./transport.ts";

/** Pause before sending again after "no responders" (no instance subscribed right now). */
const notDeliveredPauseMs = 100;

/**
 * Sends `data` to `subject`, each send waiting at most `attemptTimeoutMs` (the last of
 * {@link maxAttempts} until `deadline`). Sends again after an attempt timeout, or when no
 * instance was subscribed (that sends nothing to a node, so it is not counted); any reply (an
 * error too) ends the call.
 *
 * @example
 * const reply = await requestWithAttempts(transport, subject, data, headers, Date.now() + 15_000, undefined, 3000);
 */
export async function requestWithAttempts(
  transport: Transport,
  subject: string,
  data: Uint8Array,
  headers: MsgHdrs,
  deadline: number,
  signal: AbortSignal | undefined,
  attemptTimeoutMs: number,
): Promise<TransportReply> {
  let sends = 0;
  for (;;) {
    const attemptDeadline = ++sends >= maxAttempts ? deadline : Math.min(deadline, Date.now() + attemptTimeoutMs);
    try {
      return await transport.request(subject, data, headers, attemptDeadline, signal);
    } catch (error) {
      const failure = MicroError.from(error);
      if (Date.now() >= deadline || signal?.aborted) throw failure;
      // Our own attempt limit passed (not a handler's deadline_exceeded answer, which comes sooner).
      const attemptTimedOut = failure.code === "deadline_exceeded" && Date.now() >= attemptDeadline - 5;
      if (wasNotDelivered(failure)) {
        sends--;
        await new Promise((resolve) => setTimeout(resolve, Math.min(notDeliveredPauseMs, Math.max(0, deadline - Date.now()))));
      } else if (!attemptTimedOut || attemptDeadline >= deadline) throw failure;
    }
  }
}
