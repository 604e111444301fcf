import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import type { EventEnvelope } from "./types.ts";

/** Header names of the event envelope, readable from any language. */
export const eventHeaders = {
  id: "Nats-Msg-Id", // JetStream deduplicates on it
  topic: "Micro-Event-Topic",
  source: "Micro-Event-Source",
  sourceVersion: "Micro-Event-Source-Version",
  time: "Micro-Event-Time",
  user: "Micro-Event-User",
  contentType: "Content-Type",
  traceparent: "traceparent",
} as const;

/** Writes an envelope into NATS headers (empty fields are left out). */
export function envelopeHeaders(envelope: EventEnvelope): MsgHdrs {
  const h = natsHeaders();
  h.set(eventHeaders.id, envelope.id);
  h.set(eventHeaders.topic, envelope.topic);
  h.set(eventHeaders.time, String(envelope.time));
  h.set(eventHeaders.contentType, envelope.contentType);
  if (envelope.source) h.set(eventHeaders.source, envelope.source);
  if (envelope.sourceVersion) h.set(eventHeaders.sourceVersion, envelope.sourceVersion);
  if (envelope.user) h.set(eventHeaders.user, envelope.user);
  if (envelope.traceparent) h.set(eventHeaders.traceparent, envelope.traceparent);
  return h;
}

/** Reads an envelope back; fields a foreign publisher left out get defaults. */
export function readEnvelope(h: MsgHdrs | undefined, topicFallback: string, timeFallback: number): EventEnvelope {
  const get = (name: string) => h?.get(name) ?? "";
  const time = Number(get(eventHeaders.time));
  return {
    // Dead-lettered and re-driven copies keep the original id here; Nats-Msg-Id is the copy's.
    id: get("Micro-Event-Id") || get(eventHeaders.id),
    topic: get(eventHeaders.topic) || topicFallback,
    source: get(eventHeaders.source),
    sourceVersion: get(eventHeaders.sourceVersion),
    time: Number.isFinite(time) && time > 0 ? time : timeFallback,
    user: get(eventHeaders.user),
    contentType: get(eventHeaders.contentType) || "application/octet-stream",
    traceparent: get(eventHeaders.traceparent),
  };
}
