import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { registryKey } from "../protocol/mod.ts";
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
