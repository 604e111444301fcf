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

/**
 * The registered versions of a service; `not_found` naming what does run when it is unknown.
 * Services that only speak the NATS services protocol are described from `$SRV.INFO`.
 */
export async function findService(session: CliSession, name: string): Promise<Service[]> {
  assertToken("service", name);
  const registry = await session.registry();
  const versions = await registry.getService(name, session.settings.namespace);
  if (versions.length > 0) return versions;
  const instances = await listNatsMicroServices(session.nc, { name, waitMs: 300 });
  if (instances.length > 0) {
    return [...new Set(instances.map((i) => i.version))].map((version) => {
      const same = instances.filter((i) => i.version === version);
      return {
        namespace: session.settings.namespace, type: "srv", name, version, metadata: same[0]!.metadata,
        endpoints: same[0]!.endpoints.map((e) => ({
          name: e.name, fullName: e.subject, kind: "unary", implemented: true,
          request: { typeName: "(unknown: not a jetmicro service)", fields: [] }, response: { typeName: "(unknown)", fields: [] },
        })),
        nodes: same.map((i) => ({ id: i.id, address: `(nats micro) ${i.endpoints[0]?.subject ?? ""}`, metadata: i.metadata })),
      } satisfies Service;
    });
  }
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
