/**
 * `micro health [service]`: pings every instance (`$SRV.PING`), jetmicro's and NATS services
 * in other languages, and names registered nodes that do not answer.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { pingNatsMicroServices } from "../../runtime/registry/nats-micro-status.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, exitCodes, opt, withSession } from "../session.ts";
import { parseDuration } from "../../runtime/config/time.ts";

/** `--wait`: how long to collect answers. */
export const waitFlag = Flag.String("wait").pipe(Flag.withDefault("500ms"), Flag.withDescription("how long to collect answers (default 500ms)"));

export const healthCommand = Command.make("health", {
  service: Argument.String("service").pipe(Argument.optional, Argument.withDescription("only this service")),
  wait: waitFlag,
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("health", async () => {
    const name = opt(input.service);
    if (name !== undefined) assertToken("service", name);
    const waitMs = parseDuration("--wait", input.wait);
    return withSession(connection(input), async (session) => {
      const registry = await session.registry();
      const [pings, registered] = await Promise.all([
        pingNatsMicroServices(session.nc, { ...(name === undefined ? {} : { name }), waitMs }),
        name === undefined ? registry.listServices() : registry.getService(name, session.settings.namespace),
      ]);
      const answered = new Set(pings.map((p) => p.id));
      const rows = [
        ...pings.map((p) => ({ service: p.name, version: p.version, node: p.id, status: "ok", latencyMs: p.latencyMs as number | null })),
        ...registered.filter((s) => s.namespace === session.settings.namespace).flatMap((s) =>
          s.nodes.filter((n) => !answered.has(n.id)).map((n) => ({ service: s.name, version: s.version, node: n.id, status: "no answer", latencyMs: null }))),
      ];
      if (name !== undefined && rows.length === 0) throw new MicroError("not_found", `no instance of "${name}" answers or is registered`, { detail: name });
      if (input.output === "json") printJson(rows);
      else if (rows.length === 0) print(paint.dim("no service instance answered"));
      else {
        print(table(["SERVICE", "VERSION", "NODE", "STATUS", "LATENCY"], rows.map((r) => [
          paint.cyan(r.service), r.version, r.node, r.status === "ok" ? paint.green("ok") : paint.red(r.status), r.latencyMs === null ? "-" : `${r.latencyMs} ms`,
        ])));
      }
      return rows.every((r) => r.status === "ok") ? exitCodes.ok : exitCodes.failed;
    });
  }),
).pipe(
  Command.withDescription("Ping every service instance (any language) and report registered nodes that do not answer (exit status 1)"),
  Command.withExamples([
    { command: "micro health", description: "every instance, with its ping latency" },
    { command: "micro health greeter --output json", description: "one service, as JSON" },
  ]),
);
