/**
 * A JetStream publish that rides out leader elections and reconnects. While a stream elects a
 * new leader (its leader's node died) or the client reconnects to another server, a publish
 * fails fast ("no responders", which nats.js reports as "jetstream is not enabled") or waits
 * out its timeout. Both are temporary, so the publish is retried with backoff until its
 * deadline. That is safe only because every publish here carries a `Nats-Msg-Id`: a retry of
 * one the stream did store is answered as a duplicate within the stream's duplicate window,
 * never stored twice. A publish that still fails says why in words, not in nats.js's.
 * @module
 */
import type { JetStreamClient, JetStreamPublishOptions, PubAck } from "@nats-io/jetstream";
import { MicroError } from "../errors/micro-error.ts";
import { msgIdHeader } from "../protocol/mod.ts";
import type { AckPublisher } from "./ack-publisher.ts";

/** Longest wait for one attempt's acknowledgement: a stream's new leader answers well within it. */
const attemptTimeoutMs = 2000;
const firstBackoffMs = 25;
const maxBackoffMs = 500;

/** Why a publish failed, in words a user can act on; `retry` says whether another attempt may succeed. */
export function publishFailure(error: unknown): { reason: string; retry: boolean; timedOut: boolean } {
  const message = String((error as Error)?.message ?? error);
  const name = (error as Error)?.name;
  const causeName = ((error as Error)?.cause as Error | undefined)?.name;
  if (name === "TimeoutError" || causeName === "TimeoutError" || /timeout|timed out/i.test(message)) {
    return { reason: "timed out waiting for the stream to acknowledge it", retry: true, timedOut: true };
  }
  if (/no responders|jetstream is not enabled|503/i.test(message)) {
    return { reason: "no server answered for the stream: it has no leader (an election is under way or too few of its servers are up), or no stream stores this subject", retry: true, timedOut: false };
  }
  if (/closed|disconnect|reconnect|connection/i.test(message)) {
    return { reason: `not connected to NATS (${message})`, retry: !/closed/i.test(message), timedOut: false };
  }
  if (/leader|cluster|insufficient resources|temporarily unavailable/i.test(message)) {
    return { reason: `the stream is unavailable (${message})`, retry: true, timedOut: false };
  }
  return { reason: message, retry: false, timedOut: false };
}

/**
 * Publishes to a JetStream stream (through nats.js, or an {@link AckPublisher}), retrying temporary failures with backoff (25 ms doubling
 * to 500 ms) until `deadline` (epoch ms). `options` must carry the message id (`msgID`, or a
 * `Nats-Msg-Id` header) so retries deduplicate. Fails with `deadline_exceeded` when the last
 * attempt timed out (the message may have been stored), else `unavailable`, or at once with
 * `unavailable` for a failure no retry can fix; the message says why.
 *
 * @example
 * const ack = await publishDurably(js, "micro.events.order.created", data, { msgID: id }, Date.now() + 15_000);
 */
export async function publishDurably(js: JetStreamClient | AckPublisher, subject: string, data: Uint8Array, options: Partial<JetStreamPublishOptions>, deadline: number): Promise<PubAck> {
  if (!options.msgID && !options.headers?.has(msgIdHeader)) {
    throw new MicroError("internal", `publishDurably(${subject}) needs a message id: without one a retry could store the message twice`);
  }
  const started = Date.now();
  let backoff = firstBackoffMs;
  for (let attempt = 1;; attempt++) {
    const left = deadline - Date.now();
    try {
      return await js.publish(subject, data, { ...options, timeout: Math.max(1, Math.min(attemptTimeoutMs, left)) });
    } catch (cause) {
      const failure = publishFailure(cause);
      const wait = Math.min(backoff, maxBackoffMs) * (0.5 + Math.random() / 2);
      if (!failure.retry || Date.now() + wait >= deadline) {
        const after = `${attempt} attempt(s) in ${Date.now() - started} ms`;
        if (failure.retry && failure.timedOut) throw new MicroError("deadline_exceeded", `${subject}: ${failure.reason} (${after}); it may have been stored`, { cause });
        throw new MicroError("unavailable", `${subject}: ${failure.reason} (${after})`, { cause });
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
      backoff *= 2;
    }
  }
}
