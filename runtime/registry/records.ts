import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { assertNamespace, assertToken, maxSubjectLength, maxTimeoutMs, maxTokenLength, registryKey, type ServiceType } from "../protocol/mod.ts";
import type { ServiceDefinition } from "../service/types.ts";
import type { EndpointRecord, FieldSchema, Service, ServiceRecord } from "./types.ts";

/** The record a running instance registers. */
export function serviceRecord(
  definition: ServiceDefinition,
  node: { id: string; address: string; namespace: string; metadata?: Readonly<Record<string, string>> },
  ttlMs: number,
): ServiceRecord {
  return {
    namespace: node.namespace,
    type: definition.type,
    name: definition.name,
    version: definition.version,
    metadata: definition.metadata,
    endpoints: definition.endpoints.map((e): EndpointRecord => ({
      name: e.name,
      fullName: e.fullName,
      kind: e.method.methodKind,
      implemented: e.handler !== undefined || e.stream !== undefined,
      request: { typeName: e.method.input.typeName, fields: messageFields(e.method.input) },
      response: { typeName: e.method.output.typeName, fields: messageFields(e.method.output) },
    })),
    node: { id: node.id, address: node.address, metadata: node.metadata ?? {} },
    ttlMs,
  };
}

/** Groups node records into services, one per (namespace, type, name, version), sorted. */
export function groupServices(records: Iterable<ServiceRecord>): Service[] {
  const services = new Map<string, Service & { nodes: ServiceRecord["node"][] }>();
  for (const r of records) {
    const key = `${r.namespace} ${r.type} ${r.name} ${r.version}`;
    let service = services.get(key);
    if (service === undefined) {
      service = { namespace: r.namespace, type: r.type, name: r.name, version: r.version, metadata: r.metadata, endpoints: r.endpoints, nodes: [] };
      services.set(key, service);
    }
    service.nodes.push(r.node);
  }
  return [...services.values()].sort((a, b) => `${a.name} ${a.version}`.localeCompare(`${b.name} ${b.version}`));
}

/** The registry key of a node record: `{namespace}.{name}.{nodeId}`. */
export function recordKey(record: ServiceRecord): string {
  return registryKey(record.namespace, record.name, record.node.id);
}

function messageFields(message: DescMessage, depth = 0, seen: ReadonlySet<string> = new Set()): FieldSchema[] {
  const path = new Set(seen).add(message.typeName);
  return message.fields.map((field) => fieldSchema(field, depth, path));
}

function fieldSchema(field: DescField, depth: number, seen: ReadonlySet<string>): FieldSchema {
  const base = { name: field.jsonName, repeated: field.fieldKind === "list", map: field.fieldKind === "map" };
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
  const enumDesc = field.enum;
  const messageDesc = field.message;
  if (kind === "enum" && enumDesc) {
    return { ...base, type: "enum", typeName: enumDesc.typeName, enumValues: enumDesc.values.map((v) => v.name) };
  }
  if (kind === "message" && messageDesc) {
    const nested = depth < 2 && !seen.has(messageDesc.typeName) ? messageFields(messageDesc, depth + 1, seen) : undefined;
    return { ...base, type: "message", typeName: messageDesc.typeName, ...(nested ? { fields: nested } : {}) };
  }
  const scalar = field.scalar;
  return { ...base, type: scalar === undefined ? "unknown" : scalarName(scalar) };
}

const scalarNames: Record<number, string> = {
  1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32", 8: "bool",
  9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64", 17: "sint32", 18: "sint64",
};

function scalarName(scalar: number): string {
  return scalarNames[scalar] ?? `scalar${scalar}`;
}

// ---- Reading records others wrote -------------------------------------------------------

/**
 * Bounds on a record read from the registry. Whoever may write a key of the bucket can put any
 * bytes there (a service's NATS user may write `{ns}.{service}.>`), and every reader (gateway,
 * dashboard, CLI, clients) keeps and groups what it reads: a version 10 000 arrays deep made
 * `listServices()` throw for every service (`${version}` overflows the stack). A record is
 * therefore read into the shape {@link ServiceRecord} promises, or not at all. The bounds are
 * far above what `serviceRecord` writes for a real service.
 */
export const recordLimits = {
  /** Largest record, bytes (nats-server's default largest message). */
  bytes: 1024 * 1024,
  /** Entries of service or node metadata. */
  metadataEntries: 256,
  /** Longest metadata key; a value may be up to 16 KiB. */
  metadataKeyLength: 256,
  metadataValueLength: 16 * 1024,
  /** Longest version, endpoint name, type name or field name. */
  textLength: maxTokenLength * 2,
  /** Endpoints of one service, fields of one message, values of one enum. */
  items: 4096,
  /** Nesting of message fields (`serviceRecord` writes 3 levels). */
  fieldDepth: 4,
} as const;

const serviceTypes: ReadonlySet<string> = new Set<ServiceType>(["srv", "api", "web"]);
const endpointKinds: ReadonlySet<string> = new Set<EndpointRecord["kind"]>(["unary", "server_streaming", "client_streaming", "bidi_streaming"]);

function bad(what: string): MicroError {
  return new MicroError("invalid_argument", `registry record: ${what}`, { detail: "record" });
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function text(value: unknown, what: string, max: number = recordLimits.textLength): string {
  if (typeof value !== "string" || value.length > max) throw bad(`${what} must be a string of at most ${max} characters`);
  return value;
}

function list(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value) || value.length > recordLimits.items) throw bad(`${what} must be a list of at most ${recordLimits.items}`);
  return value;
}

function flag(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw bad(`${what} must be true or false`);
  return value;
}

function metadataOf(value: unknown, what: string): Record<string, string> {
  const source = object(value, what);
  let count = 0;
  for (const key in source) {
    if (++count > recordLimits.metadataEntries) throw bad(`${what} has more than ${recordLimits.metadataEntries} entries`);
    text(key, `${what} key`, recordLimits.metadataKeyLength);
    text(source[key], `${what} value`, recordLimits.metadataValueLength);
  }
  // Every value checked: a copy of the parsed object's own entries ("__proto__" stays a key).
  return { ...source } as Record<string, string>;
}

function fieldsOf(value: unknown, depth: number): FieldSchema[] {
  if (depth > recordLimits.fieldDepth) throw bad(`message fields nest deeper than ${recordLimits.fieldDepth}`);
  return list(value, "message fields").map((item): FieldSchema => {
    const f = object(item, "a field");
    return {
      name: text(f.name, "a field name"),
      type: text(f.type, "a field type"),
      repeated: flag(f.repeated, "repeated"),
      map: flag(f.map, "map"),
      ...(f.typeName === undefined ? {} : { typeName: text(f.typeName, "a field type name") }),
      ...(f.enumValues === undefined ? {} : { enumValues: list(f.enumValues, "enum values").map((v) => text(v, "an enum value")) }),
      ...(f.fields === undefined ? {} : { fields: fieldsOf(f.fields, depth + 1) }),
    };
  });
}

function messageOf(value: unknown, what: string): EndpointRecord["request"] {
  const m = object(value, what);
  return { typeName: text(m.typeName, `${what} type name`), fields: fieldsOf(m.fields, 1) };
}

function endpointOf(value: unknown): EndpointRecord {
  const e = object(value, "an endpoint");
  if (typeof e.kind !== "string" || !endpointKinds.has(e.kind)) throw bad("an endpoint's kind must be unary, server_streaming, client_streaming or bidi_streaming");
  return {
    name: text(e.name, "an endpoint name"),
    fullName: text(e.fullName, "an endpoint's full name"),
    kind: e.kind as EndpointRecord["kind"],
    implemented: flag(e.implemented, "implemented"),
    request: messageOf(e.request, "request"),
    response: messageOf(e.response, "response"),
  };
}

/**
 * Reads a record as stored in the registry (JSON bytes), checked against {@link recordLimits}
 * and rebuilt field by field, so nothing but the fields of a {@link ServiceRecord}, of the
 * right types, reaches a reader. Throws `invalid_argument` naming what is wrong.
 */
export function parseServiceRecord(data: Uint8Array): ServiceRecord {
  if (data.length > recordLimits.bytes) throw bad(`larger than ${recordLimits.bytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw bad("not JSON");
  }
  const r = object(value, "the record");
  assertNamespace(r.namespace);
  assertToken("service", r.name);
  if (typeof r.type !== "string" || !serviceTypes.has(r.type)) throw bad("type must be srv, api or web");
  const node = object(r.node, "node");
  assertToken("node", node.id);
  if (typeof r.ttlMs !== "number" || !(r.ttlMs > 0 && r.ttlMs <= maxTimeoutMs)) throw bad(`ttlMs must be a number of ms up to ${maxTimeoutMs}`);
  return {
    namespace: r.namespace,
    type: r.type as ServiceType,
    name: r.name,
    version: text(r.version, "version"),
    metadata: metadataOf(r.metadata, "metadata"),
    endpoints: list(r.endpoints, "endpoints").map(endpointOf),
    node: { id: node.id, address: text(node.address, "node address", maxSubjectLength), metadata: metadataOf(node.metadata, "node metadata") },
    ttlMs: r.ttlMs,
  };
}
