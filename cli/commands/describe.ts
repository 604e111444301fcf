/**
 * `micro describe <service>`: versions, nodes, endpoints and request schemas.
 * @module
 */
import { Argument, Command } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { listNatsMicroServices } from "../../runtime/registry/nats-micro-services.ts";
import type { FieldSchema, Service } from "../../runtime/registry/types.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, type CliSession, withSession } from "../session.ts";
import { listServiceSummaries } from "./services.ts";

/** Versions made from `$SRV.INFO` answers (services of other NATS libraries), not from the registry. */
const natsMicroVersions = new WeakSet<Service>();

/** True when `version` is an instance of another NATS library: call its endpoints on their announced subjects. */
export function isNatsMicroVersion(version: Service): boolean {
  return natsMicroVersions.has(version);
}

/**
 * The versions of a service: the registered ones, and beside them (never merged by name)
 * every instance that speaks the NATS services protocol without being a registered node,
 * one entry per instance; `not_found` naming what does run when there is none.
 */
export async function findService(session: CliSession, name: string): Promise<Service[]> {
  assertToken("service", name);
  const registry = await session.registry();
  const versions = await registry.getService(name, session.settings.namespace);
  const nodes = new Set(versions.flatMap((v) => v.nodes.map((n) => n.id)));
  const instances = (await listNatsMicroServices(session.nc, { name, waitMs: 300, stallMs: 50 })).filter((i) => !nodes.has(i.id));
  const foreign = instances.map((i) => {
    const version: Service = {
      namespace: session.settings.namespace, type: "srv", name, version: i.version, metadata: i.metadata,
      endpoints: i.endpoints.map((e) => ({
        name: e.name, fullName: e.subject, kind: "unary", implemented: true,
        request: { typeName: "(unknown: not a jetmicro service)", fields: [] }, response: { typeName: "(unknown)", fields: [] },
      })),
      nodes: [{ id: i.id, address: `(nats micro) ${i.endpoints.map((e) => e.subject).join(" ")}`, metadata: i.metadata }],
    };
    natsMicroVersions.add(version);
    return version;
  });
  if (versions.length + foreign.length > 0) return [...versions, ...foreign];
  const running = (await listServiceSummaries(session)).map((s) => s.name);
  const hint = running.length === 0 ? "no service is running" : `running: ${[...new Set(running)].join(", ")}`;
  throw new MicroError("not_found", `unknown service "${name}" in namespace "${session.settings.namespace}" (${hint})`, { detail: name });
}

/** A field's type as a reader thinks of it: `repeated string`, `map`, `enum Status (ACTIVE|GONE)`. */
export function fieldType(field: FieldSchema): string {
  let type = field.type;
  if (field.type === "enum") type = `enum ${field.typeName ?? ""}${field.enumValues ? ` (${field.enumValues.join("|")})` : ""}`;
  else if (field.type === "message") type = field.typeName ?? "message";
  if (field.map) return `map<string, ${type}>`;
  return field.repeated ? `repeated ${type}` : type;
}

function fieldRows(fields: readonly FieldSchema[], indent = ""): string[][] {
  return fields.flatMap((f) => [[`${indent}${f.name}`, fieldType(f)], ...fieldRows(f.fields ?? [], `${indent}  `)]);
}

function printService(versions: readonly Service[]): void {
  for (const s of versions) {
    const meta = Object.entries(s.metadata).map(([k, v]) => `${k}=${v}`).join(" ");
    print(`${paint.bold(paint.cyan(s.name))} ${paint.bold(s.version)}  ${paint.dim(`${s.namespace}.${s.type}.${s.name}${meta ? `  ${meta}` : ""}`)}`);
    print("");
    print(table(["NODE", "ADDRESS", "METADATA"], s.nodes.map((n) => [n.id, n.address, Object.entries(n.metadata).map(([k, v]) => `${k}=${v}`).join(" ")])));
    print("");
    print(table(["ENDPOINT", "KIND", "REQUEST", "RESPONSE"], s.endpoints.map((e) => [
      e.name + (e.implemented ? "" : paint.yellow(" [unimplemented]")), e.kind, e.request.typeName, e.response.typeName,
    ])));
    for (const e of s.endpoints) {
      if (e.request.fields.length === 0) continue;
      print("");
      print(`${paint.bold(e.name)} request ${paint.dim(e.request.typeName)}`);
      print(table(["  FIELD", "TYPE"], fieldRows(e.request.fields, "  ")));
    }
    print("");
  }
}

export const describeCommand = Command.make("describe", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. greeter")),
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("describe", () =>
    withSession(connection(input), async (session) => {
      const versions = await findService(session, input.service);
      if (input.output === "json") printJson(versions);
      else printService(versions);
    })),
).pipe(
  Command.withDescription("Show a service's versions, nodes, endpoints and request fields"),
  Command.withExamples([
    { command: "micro describe greeter", description: "tables of versions, nodes, endpoints and request fields" },
    { command: "micro describe greeter --output json", description: "the registry records as JSON" },
  ]),
);
