/**
 * The JSON form of a stored event, as replay, SSE streams, the sidecar and webhooks send it.
 * @module
 */
import type { StoredEvent } from "../runtime/mod.ts";

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
