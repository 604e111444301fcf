/**
 * A hand-written stream client on raw NATS, for tests that must see jetmicro's stream frames
 * as they travel (or send malformed ones): opens a stream on `subject` with the standard open
 * headers and the ones in `announce`, records every frame, and sends frames of its own.
 * @module
 */
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection } from "@nats-io/nats-core";
import { until } from "./wait.ts";

/** An open raw stream. */
export interface RawStream {
  /** Every frame received, in order (data frames have no headers). */
  readonly frames: Msg[];
  /** The received frames of `kind` (`Micro-Frame`). */
  kinds(kind: string): Msg[];
  /** Resolves once the service accepted (its `open` frame named where to send). */
  opened(): Promise<void>;
  /** Sends a frame of `kind` (undefined: a data frame) to the service. */
  send(kind: string | undefined, data?: Uint8Array, extra?: Record<string, string>): void;
  close(): void;
}

/** Opens a stream on `subject` through `nc`, announcing `announce` besides the standard open headers. */
export function rawStream(nc: NatsConnection, subject: string, announce: Record<string, string>, request = new Uint8Array(0)): RawStream {
  const inbox = createInbox();
  const frames: Msg[] = [];
  let server: string | undefined;
  const sub = nc.subscribe(inbox, {
    callback: (_e, msg) => {
      frames.push(msg);
      if (msg.headers?.get("Micro-Frame") === "open") server = msg.reply;
    },
  });
  const h = natsHeaders();
  h.set("Micro-Stream", "1");
  h.set("Micro-Stream-Heartbeat", "1000");
  h.set("Content-Type", "application/proto");
  for (const [k, v] of Object.entries(announce)) h.set(k, v);
  nc.publish(subject, request, { reply: inbox, headers: h });
  return {
    frames,
    kinds: (kind) => frames.filter((f) => f.headers?.get("Micro-Frame") === kind),
    opened: () => until(() => server !== undefined, 3000),
    send(kind, data = new Uint8Array(0), extra = {}) {
      const fh = kind === undefined ? undefined : natsHeaders();
      if (fh !== undefined) {
        fh.set("Micro-Frame", kind!);
        for (const [k, v] of Object.entries(extra)) fh.set(k, v);
      }
      nc.publish(server!, data, fh === undefined ? undefined : { headers: fh });
    },
    close: () => sub.unsubscribe(),
  };
}

/** A hand-written stream service on raw NATS: accepts every open on `subjects` and never grants credit. */
export interface RawStreamServer {
  /** Unsubscribes from the opens and from every accepted stream. */
  stop(): void;
}

/**
 * Accepts each stream opened on `subjects` with an `open` frame carrying `accept` (the window
 * it announces, right or wrong) and hands every frame the client sends on it to `onFrame`.
 */
export function rawStreamServer(nc: NatsConnection, subjects: string, accept: Record<string, string>, onFrame: (msg: Msg) => void): RawStreamServer {
  const streams: Array<{ unsubscribe(): void }> = [];
  const opens = nc.subscribe(subjects, {
    callback: (_e, open) => {
      const inbox = createInbox();
      streams.push(nc.subscribe(inbox, { callback: (_e2, msg) => onFrame(msg) }));
      const h = natsHeaders();
      h.set("Micro-Frame", "open");
      for (const [k, v] of Object.entries(accept)) h.set(k, v);
      nc.publish(open.reply!, new Uint8Array(0), { headers: h, reply: inbox });
    },
  });
  return {
    stop() {
      opens.unsubscribe();
      for (const s of streams.splice(0)) s.unsubscribe();
    },
  };
}
