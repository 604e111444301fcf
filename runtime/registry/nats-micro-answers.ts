/**
 * Reading the fields of answers to `$SRV.INFO`, `$SRV.PING` and `$SRV.STATS`. Any client on the
 * account may answer them, with any JSON: a version 10 000 arrays deep made `String(version)`
 * overflow the stack, and the whole listing (`micro services`, `micro health`/`stats`, the
 * dashboard's nodes table) failed for every service. So a field is taken only when it has the
 * protocol's type, and replaced by an empty value otherwise; what callers get prints and sorts.
 * @module
 */

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
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === "string") Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * An endpoint's `data` of a stats answer: its top-level entries of plain values (jetmicro's
 * `p50_ms`, `mailbox_depth`, ... are numbers); nested values are dropped, as nothing shows them
 * and a deep one would overflow whoever prints it.
 */
export function answerData(value: unknown): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  if (!isObject(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

/** The objects of a list field (an absent or wrong-typed list is empty). */
export function answerObjects(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
