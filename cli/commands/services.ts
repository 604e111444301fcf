/**
 * `micro services` (alias `list`): every running service version, from the registry and from
 * the NATS services protocol (instances in other languages that do not register).
 * @module
 */
import { Command } from "effect/cli";
import { listNatsMicroServices } from "../../runtime/registry/nats-micro-services.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, type CliSession, withSession } from "../session.ts";

/** One row of the service list. */
export interface ServiceSummary {
  readonly name: string;
  readonly version: string;
  readonly type: string;
  readonly nodes: number;
  readonly endpoints: readonly string[];
  /** `registry` (jetmicro) or `nats-micro` (found by `$SRV.INFO` only). */
  readonly source: "registry" | "nats-micro";
}

/** The services of the session's namespace, and the NATS micro services the registry does not know. */
export async function listServiceSummaries(session: CliSession): Promise<ServiceSummary[]> {
  const registry = await session.registry();
  const known = (await registry.listServices()).filter((s) => s.namespace === session.settings.namespace);
  const out: ServiceSummary[] = known.map((s) => ({
    name: s.name, version: s.version, type: s.type, nodes: s.nodes.length, endpoints: s.endpoints.map((e) => e.name), source: "registry",
  }));
  // By instance, not by name: a Go greeter 2.0.0 beside jetmicro's greeter 1.0.0 is listed too.
  const registered = new Set(known.flatMap((s) => s.nodes.map((n) => n.id)));
  const others = new Map<string, ServiceSummary>();
  for (const instance of await listNatsMicroServices(session.nc, { waitMs: 300 })) {
    if (registered.has(instance.id)) continue;
    const key = `${instance.name} ${instance.version}`;
    const seen = others.get(key);
    others.set(key, {
      name: instance.name, version: instance.version, type: "nats", nodes: (seen?.nodes ?? 0) + 1,
      endpoints: instance.endpoints.map((e) => e.name), source: "nats-micro",
    });
  }
  return [...out, ...others.values()].sort((a, b) => `${a.name} ${a.version}`.localeCompare(`${b.name} ${b.version}`));
}

export const servicesCommand = Command.make("services", { ...connectionFlags, output: outputFlag }, (input) =>
  action("services", () =>
    withSession(connection(input), async (session) => {
      const services = await listServiceSummaries(session);
      if (input.output === "json") return printJson(services);
      if (services.length === 0) return print(paint.dim(`no services running in namespace "${session.settings.namespace}" (start some with: micro run)`));
      print(table(["SERVICE", "VERSION", "NODES", "ENDPOINTS", "SOURCE"], services.map((s) => [
        paint.cyan(s.name), s.version, String(s.nodes), s.endpoints.join(", "), s.source === "registry" ? "registry" : paint.yellow("nats micro"),
      ])));
    })),
).pipe(
  Command.withAlias("list"),
  Command.withDescription("List running services: versions, node counts and endpoints (also NATS services in other languages)"),
  Command.withExamples([
    { command: "micro services", description: "a table of what runs" },
    { command: "micro list --output json", description: "the same as JSON, for scripts" },
  ]),
);
