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
    const matches: Array<{ event: StoredEvent; topic: string }> = [];
    // Filtered on the events' own time: the index is in indexing order, which differs after
    // downtime, redeliveries or events published with an earlier time.
    const since = request.sinceMs > 0n ? Number(request.sinceMs) : -Infinity;
    const until = request.untilMs > 0n ? Number(request.untilMs) : Infinity;
    for await (const event of broker.replay(`${userPrefix}>`)) {
      if (event.time < since || event.time >= until) continue;
      // Only entries this service indexed for this user: anything else under the prefix is forged.
      if (event.user !== request.user || !event.id.startsWith("audit-")) continue;
      const topic = event.topic.slice(userPrefix.length);
      if (query.topics.length > 0 && !query.topics.some((t) => (t.endsWith(".>") ? topic.startsWith(t.slice(0, -1)) : topic === t))) continue;
      if (query.cursor !== undefined && (request.oldestFirst ? event.sequence <= query.cursor : event.sequence >= query.cursor)) continue;
      matches.push({ event, topic });
    }
    if (!request.oldestFirst) matches.reverse();
    // Bounded in bytes too: the page is one NATS reply, and any publisher may name a user in
    // events of up to the max payload; two of 600 KB made every default page of that user's
    // history fail with resource_exhausted. The page ends before the event that would pass the
    // bound (it always holds one), and the cursor goes on from there.
    let size = 0;
    for (let bytes = 0; size < Math.min(query.limit, matches.length); size++) {
      bytes += matches[size]!.event.data.length;
      if (size > 0 && bytes > maxPageDataBytes) break;
    }
    const page = matches.slice(0, size);
    return {
      events: page.map(({ event: e, topic }): Omit<AuditEvent, "$typeName"> => ({
        id: e.id.replace(/^audit-/, ""),
        topic,
        source: e.source,
        sourceVersion: e.sourceVersion,
        timeMs: BigInt(e.time),
        user: e.user,
        contentType: e.contentType,
        data: e.data,
      })),
      nextCursor: matches.length > page.length ? String(page.at(-1)!.event.sequence) : "",
    };
  },
});

function validate(request: HistoryRequest): { limit: number; cursor: number | undefined; topics: string[] } {
  if (request.user === "") throw new MicroError("invalid_argument", "user is required", { detail: "user" });
  const limit = request.limit === 0 ? 50 : request.limit;
  if (limit > 1000) throw new MicroError("invalid_argument", `limit must be at most 1000, got ${limit}`, { detail: "limit" });
  if (request.cursor !== "" && !/^\d+$/.test(request.cursor)) {
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
