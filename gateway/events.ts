/**
 * Events over HTTP (go-micro's event handler, and more): publish, replay, a live SSE stream,
 * and a user's audit history.
 * @module
 */
import type { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { StreamingApi } from "hono/utils/stream";
import { assertTopic, type JetStreamBroker, MicroError, type StoredEvent, type Transport } from "../runtime/mod.ts";
import { callJson } from "./call.ts";
import { eventField, eventUser } from "./edge-bounds.ts";
import { type Guard, identityKey } from "./guard.ts";
import { eventIdHeader, eventUserHeader } from "./http-headers.ts";

const decoder = new TextDecoder();

/** An event as JSON: `data` parsed for JSON events, base64 otherwise. */
export function eventJson(e: StoredEvent): Record<string, unknown> {
  const isJson = e.contentType.startsWith("application/json");
  let data: unknown;
  try {
    data = isJson ? JSON.parse(decoder.decode(e.data)) : base64(e.data);
  } catch {
    data = decoder.decode(e.data);
  }
  return {
    id: e.id, topic: e.topic, source: e.source, sourceVersion: e.sourceVersion, time: e.time, user: e.user,
    contentType: e.contentType, sequence: e.sequence, [isJson ? "data" : "dataBase64"]: data,
  };
}

/** Base64 of any size: spreading a large payload into one call would overflow the stack. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Adds the event routes to `app`; every route needs the broker. */
export function addEventRoutes(app: Hono, options: { broker: JetStreamBroker; transport: Transport; namespace: string; guard?: Guard; timeoutMs?: number }): void {
  const { broker } = options;
  // Events are the pseudo-service `events` to the auth rules, with the topic as endpoint.
  const guard = (request: Request, service: string, endpoint: string) =>
    options.guard?.(request, { namespace: options.namespace, service, endpoint }) ?? Promise.resolve<Record<string, string>>({});

  // POST /events/{topic}: stores the body as an event; 201 with its id (a repeat of X-Event-Id is stored once).
  app.post("/events/:topic", async (c) => {
    const topic = c.req.param("topic");
    assertTopic(topic, false);
    const metadata = await guard(c.req.raw, "events", topic);
    const user = eventUser(c.req.header(eventUserHeader), "header X-Micro-User");
    const eventId = eventField(c.req.header(eventIdHeader), "header X-Event-Id");
    const body = new Uint8Array(await c.req.arrayBuffer());
    const contentType = c.req.header("content-type") ?? "application/json";
    if (contentType.startsWith("application/json")) {
      try {
        JSON.parse(decoder.decode(body));
      } catch {
        throw new MicroError("invalid_argument", "the body is not valid JSON (send another Content-Type for other payloads)");
      }
    }
    const result = await broker.publish(topic, body, {
      contentType,
      user,
      // With auth on, the publisher speaks for the user it names; the source records who it was.
      source: metadata[identityKey] === undefined ? "gateway" : `gateway:${metadata[identityKey]}`,
      ...(eventId ? { id: eventId } : {}),
    });
    return c.json(result, result.duplicate ? 200 : 201);
  });

  // GET /events/{filter}/replay?since=ms&from=seq&limit=n: history in order, as JSON.
  app.get("/events/:filter/replay", async (c) => {
    const filter = c.req.param("filter");
    assertTopic(filter, true);
    await guard(c.req.raw, "events", filter);
    const limit = numberParam(c.req.query("limit"), "limit", 1000);
    if (limit === 0) return c.json({ events: [] });
    const since = c.req.query("since");
    const from = c.req.query("from");
    const events: Record<string, unknown>[] = [];
    const replay = broker.replay(filter, {
      ...(since !== undefined ? { since: numberParam(since, "since", 0) } : {}),
      ...(from !== undefined ? { fromSequence: numberParam(from, "from", 1) } : {}),
    });
    for await (const e of replay) {
      events.push(eventJson(e));
      if (events.length >= limit) break;
    }
    return c.json({ events });
  });

  // GET /events/{filter}/stream: live events as server-sent events until the client leaves.
  app.get("/events/:filter/stream", async (c) => {
    const filter = c.req.param("filter");
    assertTopic(filter, true);
    await guard(c.req.raw, "events", filter);
    return streamSSE(c, async (stream) => {
      const subscription = await broker.subscribe(filter, async (e) => {
        await stream.writeSSE({ event: e.topic, id: String(e.sequence), data: JSON.stringify(eventJson(e)) });
      }, { service: "gateway", broadcast: true, concurrency: 1 });
      // Sent once the subscription is live: it flushes the headers, so a client knows at once
      // that the stream is open and that events published from now on will reach it.
      await stream.write(": subscribed\n\n");
      // A comment line now and then keeps proxies and idle timeouts from cutting a quiet stream.
      const keepAlive = setInterval(() => void stream.write(": keep-alive\n\n").catch(() => undefined), 5000);
      await clientGone(stream);
      clearInterval(keepAlive);
      await subscription.stop();
    });
  });

  // GET /history/{user}?topics=a,b&limit=n&cursor=c&oldest=1: the user's history from the audit service.
  app.get("/history/:user", async (c) => {
    const user = eventUser(c.req.param("user"), "user");
    const topics = c.req.query("topics")?.split(",").filter(Boolean) ?? [];
    for (const topic of topics) assertTopic(topic, true);
    const metadata = await guard(c.req.raw, "audit", "Audit.History");
    const request = {
      user,
      limit: numberParam(c.req.query("limit"), "limit", 50),
      cursor: c.req.query("cursor") ?? "",
      topics,
      oldestFirst: c.req.query("oldest") === "1" || c.req.query("oldest") === "true",
      ...(c.req.query("since") ? { sinceMs: String(numberParam(c.req.query("since"), "since", 0)) } : {}),
      ...(c.req.query("until") ? { untilMs: String(numberParam(c.req.query("until"), "until", 0)) } : {}),
    };
    const reply = await callJson(options.transport, {
      namespace: options.namespace,
      service: "audit",
      endpoint: "Audit.History",
      body: new TextEncoder().encode(JSON.stringify(request)),
      timeoutMs: options.timeoutMs ?? 10_000,
      metadata,
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/json" });
  });
}

/**
 * Resolves when the client of a stream leaves. A client may leave while the route is still
 * subscribing, before `onAbort` is called: the abort has then happened and will not repeat.
 */
export function clientGone(stream: StreamingApi): Promise<void> {
  return new Promise((resolve) => {
    stream.onAbort(resolve);
    if (stream.aborted) resolve();
  });
}

function numberParam(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new MicroError("invalid_argument", `${name} must be a whole number, got "${raw}"`);
  return value;
}
