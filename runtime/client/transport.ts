/**
 * The transport contract: send one request, get one reply. The client encodes and decodes;
 * the transport only moves bytes and enforces the deadline and the abort signal.
 * @module
 */
import type { MsgHdrs } from "@nats-io/nats-core";
import type { StreamChannel } from "../stream/channel.ts";
import type { OpenStreamRequest } from "./open-stream.ts";
import type { NodeLiveness } from "./node-liveness.ts";

/** A reply as the transport received it. */
export interface TransportReply {
  readonly data: Uint8Array;
  readonly headers: MsgHdrs | undefined;
}

/** Moves a request to a subject and its reply back. */
export interface Transport {
  /**
   * Sends `data` to `subject` and resolves with the reply. Rejects with `MicroError`:
   * `deadline_exceeded` at `deadline` (epoch ms), `canceled` when `signal` aborts,
   * `unavailable` at once when nobody serves the subject.
   */
  request(
    subject: string,
    data: Uint8Array,
    headers: MsgHdrs,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<TransportReply>;
  /**
   * Opens a stream (see `runtime/stream/protocol.ts`) and resolves once the service accepted
   * it. Absent on transports that cannot stream.
   */
  openStream?(request: OpenStreamRequest): Promise<StreamChannel>;
  /**
   * The heartbeats of the nodes of `namespace` (see `node-liveness.ts`), which routed calls
   * watch to learn at once that the node holding a call has crashed. Absent on transports
   * that cannot hear them.
   */
  liveness?(namespace: string): NodeLiveness;
  /** Rejects pending requests with `unavailable` and releases the transport. */
  close(): Promise<void>;
}
