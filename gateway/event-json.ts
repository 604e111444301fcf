/**
 * The JSON form of a stored event, as replay, SSE streams, the sidecar and webhooks send it.
 * @module
 */
import type { StoredEvent } from "../runtime/mod.ts";

const decoder = new TextDecoder();

/** An event as JSON: `data` parsed for JSON events, base64 otherwise. */
export function eventJson(e: StoredEvent): Record<string, unknown> {
  return {
    id: e.id, topic: e.topic, source: e.source, sourceVersion: e.sourceVersion, time: e.time, user: e.user,
    contentType: e.contentType, sequence: e.sequence, ...eventData(e.contentType, e.data),
  };
}

/** An event's payload as JSON: `{data}` parsed for JSON events (text when it does not parse), `{dataBase64}` otherwise. */
export function eventData(contentType: string, bytes: Uint8Array): { data: unknown } | { dataBase64: string } {
  if (!contentType.startsWith("application/json")) return { dataBase64: base64(bytes) };
  try {
    return { data: JSON.parse(decoder.decode(bytes)) };
  } catch {
    return { data: decoder.decode(bytes) };
  }
}

/** Base64 of any size: spreading a large payload into one call would overflow the stack. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
