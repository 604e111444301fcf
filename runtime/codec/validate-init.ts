import type { DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { ScalarType } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";

/**
 * Checks a plain object against a message type before it is built and encoded. protobuf-es
 * turns a number given for a string field into text and drops unknown keys without a word;
 * a caller deserves `invalid_argument` naming the field instead of a silently wrong message.
 */
export function validateInit(schema: DescMessage, init: unknown, path = ""): void {
  if (typeof init !== "object" || init === null || Array.isArray(init)) {
    throw invalid(path || schema.typeName, `must be an object for ${schema.typeName}`);
  }
  if ("$typeName" in init) return; // already a message
  const fields = fieldsOf(schema);
  for (const key in init) {
    if (!Object.hasOwn(init, key)) continue;
    const value = (init as Record<string, unknown>)[key];
    const field = fields.get(key);
    const at = path ? `${path}.${key}` : key;
    if (field === undefined) throw invalid(at, `is not a field of ${schema.typeName} (fields: ${schema.fields.map((f) => f.localName).join(", ")})`);
    if (value === undefined || value === null) continue;
    if (field.kind === "oneof") continue; // {case, value}: checked by protobuf-es when encoding
    checkField(field, value, at);
  }
}

/**
 * Fields and oneofs of each message type by their local name, built once per type: this runs
 * on every call a client makes, where a Map built per call cost more than the check itself.
 */
const fieldsBySchema = new WeakMap<DescMessage, ReadonlyMap<string, DescField | DescOneof>>();

function fieldsOf(schema: DescMessage): ReadonlyMap<string, DescField | DescOneof> {
  let fields = fieldsBySchema.get(schema);
  if (fields === undefined) {
    const map = new Map<string, DescField | DescOneof>();
    for (const o of schema.oneofs) map.set(o.localName, o);
    // A field of a oneof has its own local name too; fields win, as before.
    for (const f of schema.fields) map.set(f.localName, f);
    fieldsBySchema.set(schema, (fields = map));
  }
  return fields;
}

function checkField(field: DescField, value: unknown, at: string): void {
  switch (field.fieldKind) {
    case "list":
      if (!Array.isArray(value)) throw invalid(at, "must be an array");
      value.forEach((v, i) => checkSingle(field.listKind, field, v, `${at}[${i}]`));
      return;
    case "map":
      if (typeof value !== "object" || Array.isArray(value)) throw invalid(at, "must be an object (a map)");
      for (const [k, v] of Object.entries(value as object)) checkSingle(field.mapKind, field, v, `${at}.${k}`);
      return;
    default:
      checkSingle(field.fieldKind, field, value, at);
  }
}

function checkSingle(kind: string, field: DescField, value: unknown, at: string): void {
  if (kind === "message") {
    if (field.message !== undefined) validateInit(field.message, value, at);
    return;
  }
  if (kind === "enum") {
    if (typeof value !== "number" || !Number.isInteger(value)) throw invalid(at, "must be an enum number");
    return;
  }
  checkScalar(field.scalar ?? ScalarType.STRING, value, at);
}

function checkScalar(scalar: ScalarType, value: unknown, at: string): void {
  switch (scalar) {
    case ScalarType.STRING:
      if (typeof value !== "string") throw invalid(at, `must be a string, got ${describe(value)}`);
      return;
    case ScalarType.BOOL:
      if (typeof value !== "boolean") throw invalid(at, `must be a boolean, got ${describe(value)}`);
      return;
    case ScalarType.BYTES:
      if (!(value instanceof Uint8Array)) throw invalid(at, `must be a Uint8Array, got ${describe(value)}`);
      return;
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      if (typeof value !== "number") throw invalid(at, `must be a number, got ${describe(value)}`);
      return;
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      if (typeof value === "bigint" || (typeof value === "number" && Number.isInteger(value)) || (typeof value === "string" && /^-?\d+$/.test(value))) return;
      throw invalid(at, `must be a 64-bit integer (bigint, integer or digits), got ${describe(value)}`);
    default:
      if (typeof value !== "number" || !Number.isInteger(value)) throw invalid(at, `must be an integer, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value) : typeof value === "object" ? "an object" : String(value);
}

function invalid(at: string, problem: string): MicroError {
  return new MicroError("invalid_argument", `${at} ${problem}`, { detail: at });
}
