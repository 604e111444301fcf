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
/**
 * Of those, the most one authenticated identity holds, unless set otherwise: one API key or
 * token opening streams and never closing them must not take every slot from the others.
 * Without auth there are no identities, and only the total bounds them.
 */
export const defaultMaxEventStreamsPerIdentity = 100;

/** The open live event streams of one app, against their maximum in all and per identity. */
export class LiveEventSlots {
  #open = 0;
  readonly #byIdentity = new Map<string, number>();

  /**
   * @param max Most streams open at once; `setting` names where it is set, for the refusal.
   * @param perIdentity Most of them one identity holds.
   */
  constructor(readonly max: number, readonly perIdentity: number, readonly setting: string = settingTable.gatewayMaxEventStreams.variable) {}

  /**
   * Takes a slot (for `identity`, when the caller is authenticated), or refuses with
   * `resource_exhausted` (429) when all are taken, or all the identity may hold; the release
   * runs once.
   */
  take(identity?: string): () => void {
    if (this.#open >= this.max) {
      throw new MicroError("resource_exhausted", `${this.max} live event streams are open, the most (${this.setting}); retry later`);
    }
    const held = identity === undefined ? 0 : this.#byIdentity.get(identity) ?? 0;
    if (identity !== undefined && held >= this.perIdentity) {
      const setting = settingTable.gatewayMaxEventStreamsPerIdentity.variable;
      throw new MicroError("resource_exhausted", `this caller has ${held} live event streams open, the most one identity may (${setting}); close one or retry later`);
    }
    this.#open++;
    if (identity !== undefined) this.#byIdentity.set(identity, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open--;
      if (identity === undefined) return;
      const left = (this.#byIdentity.get(identity) ?? 1) - 1;
      if (left > 0) this.#byIdentity.set(identity, left);
      else this.#byIdentity.delete(identity);
    };
  }
}

/**
 * Streams the events matching `filter` to the client until it leaves, as `service`'s broadcast
 * subscriber; refused (429) before anything is subscribed when `slots` are all taken.
 */
export function serveLiveEvents(c: Context, broker: Broker, filter: string, service: string, slots: LiveEventSlots): Response {
  // The caller the gateway's authentication found (none with auth off, or on the standalone sidecar).
  const release = slots.take((c.var as { identity?: string }).identity);
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
