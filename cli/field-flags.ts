/**
 * Request fields as flags (`micro call greeter Greeter.SayHello --name Ada`, `micro stream
 * counter Counter.Count --to 3`): any flag a command does not declare becomes
 * `--field name=value`, typed by the registry's request schema.
 * @module
 */
import { MicroError } from "../runtime/errors/micro-error.ts";
import type { EndpointRecord, FieldSchema } from "../runtime/registry/types.ts";
import { parseJsonArgument } from "./session.ts";

/**
 * Rewrites request-field flags (`--name Ada`, `--name=Ada`) into `--field name=Ada`, so the
 * parser (which knows only declared flags) accepts them; `own` are the command's own flags.
 */
export function fieldFlagsToPairs(args: readonly string[], own: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const match = /^--([A-Za-z_][A-Za-z0-9_.-]*)(?:=(.*))?$/s.exec(arg);
    if (match === null || own.has(match[1]!)) {
      out.push(arg);
      continue;
    }
    const value = match[2] ?? (args[i + 1] !== undefined && !args[i + 1]!.startsWith("--") ? args[++i]! : "true");
    out.push("--field", `${match[1]}=${value}`);
  }
  return out;
}

/**
 * `base` with each `--field` set, by the request schema of `endpoint`: a field may be named as
 * in JSON (`cartId`) or in the proto (`cart_id`, `cart-id`); an unknown one is `invalid_argument`
 * listing the fields.
 */
export function requestWithFields(endpoint: EndpointRecord, base: Record<string, unknown>, pairs: Readonly<Record<string, string>>): Record<string, unknown> {
  const fields = { ...base };
  const known = endpoint.request.fields;
  for (const [name, text] of Object.entries(pairs)) {
    const schema = known.find((f) => f.name === name) ?? known.find((f) => f.name === jsonFieldName(name));
    if (schema === undefined && known.length > 0) {
      throw new MicroError("invalid_argument", `${endpoint.request.typeName} has no field "${name}" (fields: ${known.map((f) => f.name).join(", ")})`, { detail: name });
    }
    fields[schema?.name ?? name] = fieldValue(schema, name, text);
  }
  return fields;
}

const numberTypes = new Set(["int32", "uint32", "sint32", "fixed32", "sfixed32", "float", "double"]);

/** `cart_id` or `cart-id` as protobuf's JSON name: `cartId`. */
const jsonFieldName = (name: string) => name.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());

/** A flag's text as the JSON value its field takes (numbers, booleans, lists, nested JSON). */
function fieldValue(field: FieldSchema | undefined, name: string, text: string): unknown {
  if (field === undefined) return text;
  const one = (raw: string): unknown => {
    if (field.map || field.type === "message") return parseJsonArgument(`--${name}`, raw);
    if (numberTypes.has(field.type)) {
      const n = Number(raw);
      // Not finite is refused too: JSON.stringify turns Infinity (`--to 1e400`) into null, a silent default.
      if (raw.trim() === "" || !Number.isFinite(n)) throw new MicroError("invalid_argument", `--${name} must be a number (${field.type}), got "${raw}"`, { detail: name });
      return n;
    }
    if (field.type === "bool") {
      if (raw !== "true" && raw !== "false") throw new MicroError("invalid_argument", `--${name} must be true or false, got "${raw}"`, { detail: name });
      return raw === "true";
    }
    return raw;
  };
  if (field.repeated && !field.map) return text.startsWith("[") ? parseJsonArgument(`--${name}`, text) : text.split(",").map(one);
  return one(text);
}
