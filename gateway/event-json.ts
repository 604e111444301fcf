/**
 * The JSON form of a stored event, as replay, SSE streams, the sidecar and webhooks send it.
 * Stored events come from any publisher, so they are hostile input too: an event whose data
 * cannot be rendered (invalid UTF-8 in a JSON event, nesting deeper than the gateway reads)
 * is rendered with an `error` in place of its data, so a replay or a live stream reports it
 * inline and goes on, never failing or stalling on it.
 * @module
 */
import type { StoredEvent } from "../runtime/mod.ts";
import { maxJsonDepth, strictUtf8, stringifyJson } from "./json-body.ts";
import { nestedDeeper } from "./json-depth-scan.ts";

/** An event as JSON: `data` parsed for JSON events, base64 otherwise; `error` (and no data) when its data cannot be rendered. */
export function eventJson(e: StoredEvent): Record<string, unknown> {
  return {
    id: e.id, topic: e.topic, source: e.source, sourceVersion: e.sourceVersion, time: e.time, user: e.user,
    contentType: e.contentType, sequence: e.sequence, ...eventData(e.contentType, e.data, `the data of event ${e.sequence}`),
  };
}

/** {@link eventJson} as JSON text; always succeeds (an event that cannot be written is reported by its head alone). */
export function eventJsonText(e: StoredEvent): string {
  const json = eventJson(e);
  try {
    return stringifyJson(json, `event ${e.sequence}`);
  } catch (error) {
    return JSON.stringify({ id: String(e.id), topic: String(e.topic), sequence: e.sequence, error: { code: "data_loss", message: (error as Error).message } });
  }
}

/**
 * An event's payload as JSON: `{data}` parsed for JSON events (text when it does not parse),
 * `{dataBase64}` otherwise, `{error}` when JSON data is not UTF-8 or nested too deep to read.
 */
export function eventData(contentType: string, bytes: Uint8Array, what = "the data"): { data: unknown } | { dataBase64: string } | { error: { code: string; message: string } } {
  if (!contentType.startsWith("application/json")) return { dataBase64: base64(bytes) };
  let text: string;
  try {
    text = strictUtf8(bytes, what);
    if (nestedDeeper(bytes, maxJsonDepth)) throw new Error(`${what} is nested more than ${maxJsonDepth} levels deep`);
  } catch (error) {
    return { error: { code: "data_loss", message: `${(error as Error).message}: its data is left out` } };
  }
  try {
    return { data: JSON.parse(text) };
  } catch {
    // Published as JSON but not JSON: passed on as the text it is.
    return { data: text };
  }
}

/** Base64 of any size: spreading a large payload into one call would overflow the stack. */
function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
