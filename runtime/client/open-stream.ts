/**
 * The client side of the stream handshake (see {@link ./protocol.ts}).
 * @module
 */
import { createInbox, type MsgHdrs } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";
import { maxTimeoutMs } from "../protocol/mod.ts";
import { StreamChannel } from "../stream/channel.ts";
import { batchHeader, heartbeatHeader, streamHeader, windowBytesHeader, windowHeader } from "../protocol/mod.ts";
import {
  checkedTuning,
  defaultHeartbeatMs,
  defaultWindow,
  defaultWindowBytes,
  maxHeartbeatMs,
  maxWindow,
  maxWindowBytes,
  minHeartbeatMs,
  type StreamConnection,
  type StreamTuning,
} from "../stream/protocol.ts";

/** What opening a stream needs. */
export interface OpenStreamRequest extends StreamTuning {
  /** The endpoint subject (queue or node). */
  readonly subject: string;
  /** Content type, timeout and metadata headers; the stream headers are added. */
  readonly headers: MsgHdrs;
  /** Names the stream in errors: `Counter.Count`. */
  readonly label: string;
  /** Aborting cancels the stream (before or after it opened). */
  readonly signal?: AbortSignal;
  /** Epoch ms at which the whole stream fails with `deadline_exceeded`; none when undefined. */
  readonly deadline?: number;
  /** Epoch ms by which the server must accept the stream. */
  readonly openBy: number;
}

/**
 * Opens a stream and resolves with the client's end once the server accepted it. Rejects
 * with `unavailable` (nothing serves the subject), the server's refusal, `deadline_exceeded`
 * or `canceled`.
 */
export async function openStream(nc: StreamConnection, request: OpenStreamRequest): Promise<StreamChannel> {
  const window = checkedTuning("window", request.window ?? defaultWindow, 1, maxWindow);
  const windowBytes = checkedTuning("windowBytes", request.windowBytes ?? defaultWindowBytes, 1, maxWindowBytes);
  const heartbeatMs = checkedTuning("heartbeatMs", request.heartbeatMs ?? defaultHeartbeatMs, minHeartbeatMs, maxHeartbeatMs);
  const signal = request.signal;
  if (signal?.aborted) throw canceled(signal);
  const channel = new StreamChannel(nc, createInbox(), { window, windowBytes, heartbeatMs, role: "client", label: request.label });

  if (signal !== undefined) {
    const onAbort = () => channel.fail(canceled(signal), "cancel");
    signal.addEventListener("abort", onAbort, { once: true });
    channel.onRelease(() => signal.removeEventListener("abort", onAbort));
  }
  if (request.deadline !== undefined) {
    // Capped as the server caps Micro-Timeout: a longer delay would overflow the timer and fire at once.
    const timer = setTimeout(() => channel.fail(new MicroError("deadline_exceeded", `${request.label}: the stream's deadline passed`), "cancel"), Math.min(request.deadline - Date.now(), maxTimeoutMs));
    channel.onRelease(() => clearTimeout(timer));
  }
  const openTimer = setTimeout(
    () => channel.fail(new MicroError("deadline_exceeded", `${request.label}: the service did not accept the stream in time`), "cancel"),
    Math.max(0, request.openBy - Date.now()),
  );

  const headers = request.headers;
  headers.set(streamHeader, "1");
  headers.set(windowHeader, String(window));
  headers.set(windowBytesHeader, String(windowBytes));
  headers.set(heartbeatHeader, String(heartbeatMs));
  headers.set(batchHeader, "1");
  try {
    nc.publish(request.subject, new Uint8Array(0), { reply: channel.inbox, headers });
    await channel.whenOpen();
  } catch (error) {
    channel.fail(MicroError.from(error, "unavailable"), "none");
    throw channel.failure;
  } finally {
    clearTimeout(openTimer);
  }
  return channel;
}

function canceled(signal: AbortSignal): MicroError {
  const reason = signal.reason;
  return new MicroError("canceled", reason instanceof Error ? `stream canceled: ${reason.message}` : "stream canceled", { cause: reason });
}
