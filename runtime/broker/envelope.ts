import { headers as natsHeaders, type MsgHdrs, type MsgHdrsImpl } from "@nats-io/nats-core";
import { isTimeInRange } from "../config/time.ts";
import { MicroError } from "../errors/micro-error.ts";
import { eventHeaders, limits, originalEventIdHeader } from "../protocol/mod.ts";
import type { EventEnvelope } from "./types.ts";

/**
 * Writes an envelope into NATS headers (empty fields are left out). Values are checked here
 * (a line break would corrupt the header block; a value is at most as long as a metadata
 * value, so a hostile user id cannot bloat every event) and then stored directly: the generic
 * `set()` re-validates and searches the keys on every call, a visible cost per event.
 */
export function envelopeHeaders(envelope: Omit<EventEnvelope, "topic" | "time"> & { time?: number }): MsgHdrs {
  const h = natsHeaders() as MsgHdrsImpl;
  const put = (name: string, value: string, field: string) => {
    if (lineBreak.test(value)) throw new MicroError("invalid_argument", `event ${field} must not contain line breaks`, { detail: field });
    if (value.length > limits.maxMetadataValueLength) {
      throw new MicroError("invalid_argument", `event ${field} is longer than ${limits.maxMetadataValueLength} characters`, { detail: field });
    }
    h.headers.set(name, [value]);
  };
  put(eventHeaders.id, envelope.id, "id");
  // Left out when JetStream already knows them: the topic is in the subject, the time in the
  // stored message, and binary protobuf is the default content type. Fewer bytes per event.
  if (envelope.time !== undefined) {
    if (!isEventTime(envelope.time)) {
      throw new MicroError("invalid_argument", `event time must be whole epoch ms after 1970 and before year 10000, got ${envelope.time}`, { detail: "time" });
    }
    put(eventHeaders.time, String(envelope.time), "time");
  }
  if (envelope.contentType !== defaultContentType) put(eventHeaders.contentType, envelope.contentType, "contentType");
  if (envelope.source) put(eventHeaders.source, envelope.source, "source");
  if (envelope.sourceVersion) put(eventHeaders.sourceVersion, envelope.sourceVersion, "sourceVersion");
  if (envelope.user) put(eventHeaders.user, envelope.user, "user");
  if (envelope.traceparent) put(eventHeaders.traceparent, envelope.traceparent, "traceparent");
  return h;
}

const lineBreak = /[\r\n]/;

/** An event time: whole epoch ms after 1970 that a date (and JetStream) can hold. */
function isEventTime(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms > 0 && isTimeInRange(ms);
}

/** Content type of events without a `Content-Type` header. */
export const defaultContentType = "application/proto";

/**
 * Reads an envelope back; fields a foreign publisher left out get defaults. `subjectTopic` is
 * the topic of an event read on its own subject in the event stream; undefined for a dead-letter
 * or re-driven copy (which this broker wrote), whose topic and original id are in its headers.
 */
export function readEnvelope(h: MsgHdrs | undefined, subjectTopic: string | undefined, timeFallback: number): EventEnvelope {
  const get = (name: string) => h?.get(name) ?? "";
  // Any publisher on the bus may write this header: only whole epoch ms a date can hold are
  // taken (else JetStream's own time). `1.5` made the audit service's history of that user fail
  // for good (BigInt of a fraction), `9e15` made `micro replay` and `micro dlq` throw on dates.
  const timeText = get(eventHeaders.time);
  const time = /^\d{1,15}$/.test(timeText) ? Number(timeText) : Number.NaN;
  return {
    // Dead-lettered and re-driven copies keep the original id and topic in headers; Nats-Msg-Id
    // is the copy's. On the event stream the subject is the topic and Nats-Msg-Id the id: a
    // publisher allowed only `order.>` wrote Micro-Event-Topic `payment.refunded` (subscribers
    // saw it, the audit filed it so, an `audit.x` one was not audited), or a Micro-Event-Id
    // naming another event past JetStream's duplicate check.
    id: (subjectTopic === undefined ? get(originalEventIdHeader) : "") || get(eventHeaders.id),
    topic: subjectTopic ?? get(eventHeaders.topic),
    source: get(eventHeaders.source),
    sourceVersion: get(eventHeaders.sourceVersion),
    time: isEventTime(time) ? time : timeFallback,
    user: get(eventHeaders.user),
    contentType: get(eventHeaders.contentType) || defaultContentType,
    traceparent: get(eventHeaders.traceparent),
  };
}
