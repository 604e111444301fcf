/**
 * Events over HTTP (go-micro's event handler, and more): publish, replay and a live SSE
 * stream. A user's audit history is `history.ts`.
 * @module
 */
import { type Context, Hono } from "hono";
import { assertTopic, MicroError, type StoredEvent } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";
import type { AuthTarget } from "./auth.ts";
import { gatewayTarget } from "./auth-rules.ts";
import { eventField, eventUser } from "./edge-bounds.ts";
import { eventJson } from "./event-json.ts";
import { serveLiveEvents } from "./live-events.ts";
import { parseCheckedJson, readBody, readJsonBody } from "./json-body.ts";
import { parseTimePoint } from "../runtime/config/time.ts";
import { eventIdHeader, eventUserHeader } from "./http-headers.ts";
import type { GatewayDeps, GatewayEnv, GatewayPart } from "./part.ts";

/**
 * Topics HTTP callers may not publish to: `audit.` holds the audit service's per-user index
 * (`audit.user.{user}.{topic}`), so a publish there would forge someone's history.
 */
export const reservedTopicPrefixes: readonly string[] = ["audit."];

/** `permission_denied` for a topic only services may publish to. */
export function assertPublishable(topic: string): void {
  const reserved = reservedTopicPrefixes.find((prefix) => topic.startsWith(prefix));
  if (reserved !== undefined) throw new MicroError("permission_denied", `topics under "${reserved}" are written by services only, never published over HTTP`, { detail: "topic" });
}

/**
 * `permission_denied` unless `identity` may publish an event naming `user` (none named passes):
 * the user an event is about is indexed as that user's history, so a caller speaks for itself
 * only, unless granted `@as-user/{user}`.
 */
export function assertMayNameUser(allows: GatewayDeps["allows"], identity: string | undefined, user: string): void {
  if (user === "" || allows(identity, gatewayTarget("as-user", user))) return;
  throw new MicroError("permission_denied", `${identity} may not publish events naming user "${shown(user)}" (needs the rule "@as-user/${shown(user)}")`, { detail: "X-Micro-User" });
}

/** Most events one replay answer holds (`limit`); more is a 400 naming it: page with `from`. */
const maxReplayLimit = 10_000;
/** Event data one replay answer holds, about: the answer ends after the event that passes it, with `nextFrom`. */
const maxReplayBytes = 8 * 1024 * 1024;

/** `/events/{topic}` (publish), `/events/{filter}/replay` and `/events/{filter}/stream`; with a broker only. */
export const eventsPart: GatewayPart = (deps) => {
  const broker = deps.broker;
  if (broker === undefined) return undefined;
  // Events are the pseudo-service `events` to the auth rules, with the topic as endpoint.
  const events = (param: string, wildcards: boolean) => (c: Context<GatewayEnv>): AuthTarget => {
    const topic = c.req.param(param)!;
    assertTopic(topic, wildcards);
    if (!wildcards) assertPublishable(topic);
    return gatewayTarget("events", topic);
  };
  const app = new Hono<GatewayEnv>();

  // POST /events/{topic}: stores the body as an event; 201 with its id (a repeat of X-Event-Id is stored once).
  app.post("/events/:topic", deps.authorize(events("topic", false)), async (c) => {
    const topic = c.var.target.endpoint;
    const user = eventUser(c.req.header(eventUserHeader), "header X-Micro-User");
    const eventId = eventField(c.req.header(eventIdHeader), "header X-Event-Id");
    const contentType = c.req.header("content-type") ?? "application/json";
    // Strict UTF-8 and bounded depth: an event replay and live streams must be able to render.
    let body: Uint8Array;
    if (contentType.startsWith("application/json")) {
      const read = await readJsonBody(c.req.raw);
      body = read.bytes;
      try {
        parseCheckedJson(read.text, "the body");
      } catch {
        throw new MicroError("invalid_argument", "the body is not valid JSON (send another Content-Type for other payloads)");
      }
    } else body = await readBody(c.req.raw);
    const identity = c.var.identity;
    assertMayNameUser(deps.allows, identity, user);
    const result = await broker.publish(topic, body, {
      contentType,
      user,
      // With auth on, the publisher speaks for the user it names; the source records who it was.
      source: identity === undefined ? "gateway" : `gateway:${identity}`,
      ...(eventId ? { id: eventId } : {}),
      ...(c.var.trace === undefined ? {} : { traceparent: c.var.trace.traceparent }),
    });
    return c.json(result, result.duplicate ? 200 : 201);
  });

  // GET /events/{filter}/replay?since=ms|2h|ISO&from=seq&limit=n: history in order, as JSON.
  app.get("/events/:filter/replay", deps.authorize(events("filter", true)), async (c) => {
    const filter = c.var.target.endpoint;
    const limit = numberParam(c.req.query("limit"), "limit", 1000);
    if (limit > maxReplayLimit) throw new MicroError("invalid_argument", `limit must be at most ${maxReplayLimit}, got ${limit}; page with from`, { detail: "limit" });
    if (limit === 0) return c.json({ events: [] });
    const since = c.req.query("since");
    const from = c.req.query("from");
    const events: Record<string, unknown>[] = [];
    const replay = broker.replay(filter, {
      ...(since !== undefined ? { since: timeParam(since, "since") } : {}),
      ...(from !== undefined ? { fromSequence: numberParam(from, "from", 1) } : {}),
    });
    // A page answered by the call timeout is better than the time limit's 504 a second later.
    const answerBy = Date.now() + deps.timeoutMs;
    let bytes = 0;
    let nextFrom: number | undefined;
    for await (const e of replay) {
      events.push(eventJson(e)); // an event that cannot be rendered is listed with an error
      bytes += e.data.length;
      // Cut where the answer would grow past what one response should hold, or its time is up:
      // the rest (if any) is read by the next page, from `nextFrom`.
      if (events.length >= limit || bytes >= maxReplayBytes || Date.now() >= answerBy) {
        nextFrom = e.sequence + 1;
        break;
      }
    }
    return c.json(nextFrom === undefined ? { events } : { events, nextFrom });
  });

  // GET /events/{filter}/stream: live events as server-sent events until the client leaves.
  app.get("/events/:filter/stream", deps.authorize(events("filter", true)), (c) => serveLiveEvents(c, broker, c.var.target.endpoint, "gateway", deps.liveEvents));
  return app;
};

/**
 * A point in time from a query parameter, as the CLI reads one: epoch ms, a duration ago
 * (`2h`, `30m`, `1d`) or an ISO time; `invalid_argument` naming `name` otherwise.
 */
export function timeParam(raw: string, name: string): number {
  if (/^\d{1,16}$/.test(raw)) return Number(raw);
  if (raw.length > 64) throw new MicroError("invalid_argument", `${name} is longer than 64 characters`, { detail: name });
  return parseTimePoint(name, raw);
}

/**
 * A whole-number query parameter (digits only, at most 2^53 - 1), `fallback` when absent;
 * `invalid_argument` otherwise, so `1e300` or `18446744073709551616` is a 400, not a 500.
 */
export function numberParam(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  // Beyond 2^53 - 1 numbers lose precision: not a safe integer, so a 400 too.
  if (!Number.isSafeInteger(value)) throw new MicroError("invalid_argument", `${name} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}, got "${shown(raw)}"`, { detail: name });
  return value;
}
