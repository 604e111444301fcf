/**
 * Live events as server-sent events (`GET /events/{filter}/stream`, the sidecar's too), and
 * the bound on how many are open at once: each holds a JetStream consumer on the NATS server
 * for as long as its client stays, so a client opening streams and never closing them would
 * otherwise grow the server's consumers without end.
 * @module
 */
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { StreamingApi } from "hono/utils/stream";
import { type Broker, MicroError } from "../runtime/mod.ts";
import { settingTable } from "../runtime/config/settings.ts";
import { eventJsonText } from "./event-json.ts";

/** Live event streams one gateway (or sidecar) keeps open at once, unless set otherwise. */
export const defaultMaxEventStreams = 1000;

/** The open live event streams of one app, against their maximum. */
export class LiveEventSlots {
  #open = 0;

  /** @param max Most streams open at once; `setting` names where it is set, for the refusal. */
  constructor(readonly max: number, readonly setting: string = settingTable.gatewayMaxEventStreams.variable) {}

  /** Takes a slot, or refuses with `resource_exhausted` (429) when all are taken; the release runs once. */
  take(): () => void {
    if (this.#open >= this.max) {
      throw new MicroError("resource_exhausted", `${this.max} live event streams are open, the most (${this.setting}); retry later`);
    }
    this.#open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
    };
  }
}

/**
 * Streams the events matching `filter` to the client until it leaves, as `service`'s broadcast
 * subscriber; refused (429) before anything is subscribed when `slots` are all taken.
 */
export function serveLiveEvents(c: Context, broker: Broker, filter: string, service: string, slots: LiveEventSlots): Response {
  const release = slots.take();
  return streamSSE(c, async (stream) => {
    try {
      const subscription = await broker.subscribe(filter, async (e) => {
        await stream.writeSSE({ event: e.topic, id: String(e.sequence), data: eventJsonText(e) });
      }, { service, broadcast: true, concurrency: 1 });
      // Sent once the subscription is live: it flushes the headers, so a client knows at once
      // that the stream is open and that events published from now on will reach it.
      await stream.write(": subscribed\n\n");
      // A comment line now and then keeps proxies and idle timeouts from cutting a quiet stream.
      const keepAlive = setInterval(() => void stream.write(": keep-alive\n\n").catch(() => undefined), 5000);
      await clientGone(stream);
      clearInterval(keepAlive);
      await subscription.stop();
    } finally {
      release();
    }
  });
}

/**
 * Resolves when the client of a stream leaves. A client may leave while the route is still
 * subscribing, before `onAbort` is called: the abort has then happened and will not repeat.
 */
function clientGone(stream: StreamingApi): Promise<void> {
  return new Promise((resolve) => {
    stream.onAbort(resolve);
    if (stream.aborted) resolve();
  });
}
