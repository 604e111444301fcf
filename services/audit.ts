import { Audit, type AuditEvent, type HistoryRequest } from "../gen/audit/v1/audit_pb.ts";
import { defineService, isToken, maxTokenLength, MicroError, onEvent, type StoredEvent } from "../runtime/mod.ts";

/**
 * The audit service: keeps every event that names a user in a per-user index inside
 * JetStream (topic `audit.user.{user}.{topic}`, no other database) and answers history
 * queries. Events published while it is down wait in its durable consumer, so none is missed;
 * re-indexing an event after a redelivery is deduplicated by its id.
 *
 * A user id goes into a topic, so it must fit one subject token once encoded: a longer one is
 * refused with `invalid_argument` by `history`, and an event naming one is dead-lettered with
 * that error (it cannot be indexed), never sent to NATS.
 */
const indexPrefix = "audit.user.";
/** Most event data one history page holds, in bytes (half the default NATS max payload). */
const maxPageDataBytes = 512 * 1024;

export default defineService(Audit, {
  version: "1.0.0",
  subscriptions: [
    // Raw payloads: the audit trail keeps events of every type and content type as they came.
    onEvent(">", null, async (_payload, event, { broker }) => {
      if (!event.user || event.topic.startsWith("audit.")) return;
      await broker.publish(indexTopic(event.user, event.topic), event.data, {
        // Publishers that send no id still get one index entry per event: its stream sequence.
        id: `audit-${event.id || `seq-${event.sequence}`}`,
        user: event.user,
        source: event.source,
        sourceVersion: event.sourceVersion,
        contentType: event.contentType,
        traceparent: event.traceparent,
        time: event.time,
      });
    }),
  ],
}, {
  async history(request, ctx) {
    const query = validate(request);
    const broker = ctx.broker;
    if (broker === undefined) throw new MicroError("failed_precondition", "the audit service needs the event broker");
    const userPrefix = indexTopic(request.user, "");
    // Filtered on the events' own time: the index is in indexing order, which differs after
    // downtime, redeliveries or events published with an earlier time.
    const since = request.sinceMs > 0n ? Number(request.sinceMs) : -Infinity;
    const until = request.untilMs > 0n ? Number(request.untilMs) : Infinity;
    // Only the page is kept while the history is read, not the whole history: any publisher may
    // name a user in events of up to the max payload, as many as it likes. A page is at most
    // `limit` events and is bounded in bytes too, being one NATS reply (two events of 600 KB made
    // every default page of such a user fail with resource_exhausted): it ends before the event
    // that would pass maxPageDataBytes (it always holds one), and the cursor goes on from there.
    const page = new PageWindow(query.limit, request.oldestFirst);
    const cursor = query.cursor;
    // Oldest first, the read starts after the cursor; newest first, it ends at it.
    const from = request.oldestFirst && cursor !== undefined ? { fromSequence: cursor + 1 } : {};
    for await (const event of broker.replay(`${userPrefix}>`, from)) {
      if (!request.oldestFirst && cursor !== undefined && event.sequence >= cursor) break;
      if (event.time < since || event.time >= until) continue;
      // Only entries this service indexed for this user: anything else under the prefix is forged.
      if (event.user !== request.user || !event.id.startsWith("audit-")) continue;
      const topic = event.topic.slice(userPrefix.length);
      if (query.topics.length > 0 && !query.topics.some((t) => (t.endsWith(".>") ? topic.startsWith(t.slice(0, -1)) : topic === t))) continue;
      if (!page.add({ event, topic })) break;
    }
    const events = page.events();
    return {
      events: events.map(({ event: e, topic }): Omit<AuditEvent, "$typeName"> => ({
        id: e.id.replace(/^audit-/, ""),
        topic,
        source: e.source,
        sourceVersion: e.sourceVersion,
        timeMs: BigInt(e.time),
        user: e.user,
        contentType: e.contentType,
        data: e.data,
      })),
      nextCursor: page.more ? String(events.at(-1)!.event.sequence) : "",
    };
  },
});

/**
 * The page of a history being read in index order: oldest first, the first matches that fit
 * (then the read can end); newest first, the last ones, older matches leaving the window as
 * newer ones come. `more` tells whether matches were left out, for the cursor.
 */
class PageWindow {
  readonly #kept: Array<{ event: StoredEvent; topic: string }> = [];
  #bytes = 0;
  #more = false;

  constructor(readonly limit: number, readonly oldestFirst: boolean) {}

  get more(): boolean {
    return this.#more;
  }

  /** Adds the next match; false when the page is full (oldest first: no later match belongs on it). */
  add(match: { event: StoredEvent; topic: string }): boolean {
    if (this.oldestFirst) {
      if (this.#kept.length >= this.limit || (this.#kept.length > 0 && this.#bytes + match.event.data.length > maxPageDataBytes)) {
        this.#more = true;
        return false;
      }
      this.#kept.push(match);
      this.#bytes += match.event.data.length;
      return true;
    }
    this.#kept.push(match);
    this.#bytes += match.event.data.length;
    // The oldest kept match is off the page when the newer ones fill it: it never comes back.
    while (this.#kept.length > this.limit || (this.#kept.length > 1 && this.#bytes > maxPageDataBytes)) {
      this.#bytes -= this.#kept.shift()!.event.data.length;
      this.#more = true;
    }
    return true;
  }

  /** The page in the order asked for. */
  events(): Array<{ event: StoredEvent; topic: string }> {
    return this.oldestFirst ? this.#kept : [...this.#kept].reverse();
  }
}

function validate(request: HistoryRequest): { limit: number; cursor: number | undefined; topics: string[] } {
  if (request.user === "") throw new MicroError("invalid_argument", "user is required", { detail: "user" });
  const limit = request.limit === 0 ? 50 : request.limit;
  if (limit > 1000) throw new MicroError("invalid_argument", `limit must be at most 1000, got ${limit}`, { detail: "limit" });
  if (request.cursor !== "" && !(/^\d{1,15}$/.test(request.cursor))) {
    throw new MicroError("invalid_argument", `cursor "${request.cursor}" is not one this service gave out`, { detail: "cursor" });
  }
  return { limit, cursor: request.cursor === "" ? undefined : Number(request.cursor), topics: request.topics };
}

/** The index topic of `user`'s event on `topic` (`audit.user.42.customer.login`); with topic "", its prefix. */
function indexTopic(user: string, topic: string): string {
  return `${indexPrefix}${userToken(user)}.${topic}`;
}

/**
 * A user id as one subject token: kept when it already is one, else base64url behind "_".
 * `invalid_argument` when the token would be longer than a subject token may be.
 */
function userToken(user: string): string {
  // Checked on the UTF-16 length first: encoding a huge id only to refuse it would be wasted work.
  if (user.length > maxTokenLength) throw tooLong(user);
  if (/^[A-Za-z0-9-]+$/.test(user)) return user;
  const base64 = btoa(Array.from(new TextEncoder().encode(user), (byte) => String.fromCharCode(byte)).join(""));
  const token = `_${base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
  if (!isToken(token)) throw tooLong(user);
  return token;
}

function tooLong(user: string): MicroError {
  return new MicroError("invalid_argument", `user "${user.slice(0, 40)}…" (${user.length} characters) is too long to index: at most ${maxTokenLength} characters, fewer when not plain letters and digits`, { detail: "user" });
}
