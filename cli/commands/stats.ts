/**
 * `micro stats [service]`: per instance and endpoint, requests, errors and latency from
 * `$SRV.STATS` (jetmicro adds percentiles and the mailbox).
 * @module
 */
import { Argument, Command } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { natsMicroServiceStats } from "../../runtime/registry/nats-micro-status.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, opt, withSession } from "../session.ts";
import { parseDuration } from "../../runtime/config/time.ts";
import { waitFlag } from "./health.ts";

const ms = (value: unknown) => (typeof value === "number" ? `${Math.round(value * 100) / 100}` : "-");

export const statsCommand = Command.make("stats", {
  service: Argument.String("service").pipe(Argument.optional, Argument.withDescription("only this service")),
  wait: waitFlag,
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("stats", async () => {
    const name = opt(input.service);
    if (name !== undefined) assertToken("service", name);
    const waitMs = parseDuration("--wait", input.wait);
    return withSession(connection(input), async (session) => {
      const stats = await natsMicroServiceStats(session.nc, { ...(name === undefined ? {} : { name }), waitMs });
      if (name !== undefined && stats.length === 0) throw new MicroError("not_found", `no instance of "${name}" answered`, { detail: name });
      if (input.output === "json") return printJson(stats);
      if (stats.length === 0) return print(paint.dim("no service instance answered"));
      print(table(["SERVICE", "VERSION", "NODE", "ENDPOINT", "REQUESTS", "ERRORS", "AVG MS", "P50 MS", "P99 MS", "MAILBOX", "LAST ERROR"],
        stats.flatMap((s) => s.endpoints.map((e) => [
          paint.cyan(s.name), s.version, s.id, e.name, String(e.requests), e.errors > 0 ? paint.red(String(e.errors)) : "0",
          ms(e.averageMs), ms(e.data.p50_ms), ms(e.data.p99_ms), e.data.mailbox_depth === undefined ? "-" : String(e.data.mailbox_depth), e.lastError,
        ]))));
    });
  }),
).pipe(
  Command.withDescription("Per instance and endpoint: requests, errors, latency and mailbox depth (any NATS service, any language)"),
  Command.withExamples([
    { command: "micro stats", description: "every instance" },
    { command: "micro stats greeter --output json", description: "one service, as JSON" },
  ]),
);
