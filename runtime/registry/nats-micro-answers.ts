/**
 * Reading the fields of answers to `$SRV.INFO`, `$SRV.PING` and `$SRV.STATS`. Any client on the
 * account may answer them, with any JSON: a version 10 000 arrays deep made `String(version)`
 * overflow the stack, and the whole listing (`micro services`, `micro health`/`stats`, the
 * dashboard's nodes table) failed for every service. So a field is taken only when it has the
 * protocol's type, and replaced by an empty value otherwise; what callers get prints and sorts.
 * Answers are also collected within bounds ({@link collectAnswers}).
 * @module
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { MicroError } from "../errors/micro-error.ts";

/**
 * The largest single answer read, bytes: a stats answer of a service with hundreds of
 * endpoints is far smaller. Larger ones are skipped unparsed.
 */
export const maxServiceAnswerBytes = 256 * 1024;
/**
 * The most answer bytes one ask collects: any client on the account can answer `$SRV.*`, as
 * often and as large as it likes, and the gateway's dashboard asks every second, so a flood of
 * answers must not be kept.
 */
export const maxServiceAnswersBytes = 32 * 1024 * 1024;

/** One answer: the JSON object it holds, and when it came (`performance.now()`). */
export interface CollectedAnswer {
  readonly info: Record<string, unknown>;
  readonly at: number;
}

/**
 * Asks `subject` and collects the answers that are JSON objects for `waitMs` (500), or until
 * none came for `stallMs` when given, within {@link maxServiceAnswerBytes} an answer and
 * {@link maxServiceAnswersBytes} in all. Nobody answering is an empty list.
 */
export async function collectAnswers(nc: NatsConnection, subject: string, options: { waitMs?: number; stallMs?: number }): Promise<CollectedAnswer[]> {
  const out: CollectedAnswer[] = [];
  // With `stallMs`, collecting stops once no reply came for that long (callers on a hot path).
  const strategy = options.stallMs === undefined ? {} : { strategy: "stall" as const, stall: options.stallMs };
  let bytes = 0;
  try {
    for await (const msg of await nc.requestMany(subject, "", { maxWait: options.waitMs ?? 500, ...strategy })) {
      const at = performance.now();
      if (msg.data.length > maxServiceAnswerBytes) continue;
      bytes += msg.data.length;
      if (bytes > maxServiceAnswersBytes) break;
      try {
        const info: unknown = msg.json();
        if (isObject(info)) out.push({ info, at });
      } catch {
        // not a micro responder
      }
    }
  } catch (error) {
    if (!(error as Error).message.includes("no responders")) throw MicroError.from(error, "unavailable");
  }
  return out;
}

/** Sorts answers by service name, then instance id (in place), as every listing shows them. */
export function byNameAndId<T extends { name: string; id: string }>(answers: T[]): T[] {
  return answers.sort((a, b) => `${a.name} ${a.id}`.localeCompare(`${b.name} ${b.id}`));
}

/** A text field: a string as it is, a number or boolean written out, anything else `""`. */
export function answerText(value: unknown): string {
  if (typeof value === "string") return value;
  return typeof value === "number" || typeof value === "boolean" ? String(value) : "";
}

/** A number field: a finite number (or numeric text), anything else 0. */
export function answerNumber(value: unknown): number {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : 0;
}

/** A metadata field: the entries of an object whose values are strings; nothing else. */
export function answerMetadata(value: unknown): Record<string, string> {
  return entriesWhere(value, (v): v is string => typeof v === "string");
}

/**
 * An endpoint's `data` of a stats answer: its top-level entries of plain values (jetmicro's
 * `p50_ms`, `mailbox_depth`, ... are numbers); nested values are dropped, as nothing shows them
 * and a deep one would overflow whoever prints it.
 */
export function answerData(value: unknown): Record<string, string | number | boolean | null> {
  return entriesWhere(value, (v): v is string | number | boolean | null => v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean");
}

/** The entries of an object whose values pass `keep`, as own properties ("__proto__" stays a key). */
function entriesWhere<T>(value: unknown, keep: (v: unknown) => v is T): Record<string, T> {
  const out: Record<string, T> = {};
  if (!isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) if (keep(v)) Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/** The objects of a list field (an absent or wrong-typed list is empty). */
export function answerObjects(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
