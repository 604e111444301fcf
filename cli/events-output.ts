/**
 * How events are printed: one readable line each, or JSON (`data` parsed for JSON events).
 * @module
 */
import type { StoredEvent } from "../runtime/broker/types.ts";
import { eventJson } from "../gateway/event-json.ts";
import { type OutputFormat, paint, print, printJson } from "./output.ts";

/** Prints events as they come: a line each (text), a JSON object per line (ndjson), or one array at {@link EventPrinter.end} (json). */
export interface EventPrinter {
  event(e: StoredEvent): void;
  end(): void;
}

/** A printer for `format`. */
export function eventPrinter(format: OutputFormat): EventPrinter {
  const collected: unknown[] = [];
  return {
    event(e) {
      const json = eventJson(e);
      if (format === "json") collected.push(json);
      else if (format === "ndjson") printJson(json, true);
      else print(eventLine(json));
    },
    end() {
      if (format === "json") printJson(collected);
    },
  };
}

/** `2026-11-29T10:00:00.000Z  #12  customer.login  user=42  {"ip":"…"}` */
export function eventLine(e: Record<string, unknown>): string {
  const time = typeof e.time === "number" ? new Date(e.time).toISOString() : String(e.time ?? "");
  const user = e.user ? `  user=${e.user}` : "";
  const source = e.source ? paint.dim(`  from ${e.source}`) : "";
  const data = "data" in e ? JSON.stringify(e.data) : paint.dim(`(${e.contentType}, base64) ${String(e.dataBase64 ?? "")}`);
  const sequence = e.sequence === undefined ? "" : paint.dim(`  #${e.sequence}`);
  return `${paint.dim(time)}${sequence}  ${paint.cyan(String(e.topic))}${user}${source}  ${data}`;
}
