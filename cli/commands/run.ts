/**
 * `micro run [dir] [--watch]`: NATS (found or started), every service in `dir`, the gateway.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { connection, connectionFlags } from "../flags.ts";
import { runCommand } from "../run.ts";
import { action, opt } from "../session.ts";
import { commandSources } from "../settings.ts";

export const runServicesCommand = Command.make("run", {
  dir: Argument.String("dir").pipe(Argument.optional, Argument.withDescription("folder of service modules (default: MICRO_SERVICES_DIR, services)")),
  watch: Flag.Boolean("watch").pipe(Flag.withDefault(false), Flag.withAlias("w"), Flag.withDescription("reload a service when its module or proto changes, draining the old instance")),
  module: Flag.String("module").pipe(Flag.optional, Flag.withHidden, Flag.withDescription("run only this module of dir (used by --watch)")),
  ...connectionFlags,
}, (input) =>
  action("run", async () => {
    // Unlike the other commands, run starts a NATS server when no URL is set.
    const sources = commandSources(connection(input));
    return runCommand({ servicesDir: opt(input.dir), onlyModule: opt(input.module) }, { watch: input.watch, sources });
  }),
).pipe(
  Command.withDescription("Run NATS (found at NATS_URL or started), every service module in dir, and the HTTP gateway, until Ctrl-C"),
  Command.withExamples([
    { command: "micro run", description: "services/ on a local NATS (started when none answers)" },
    { command: "micro run services --watch", description: "reload a service when its handler module or proto changes" },
    { command: "micro run --nats-url nats://10.0.0.5:4222", description: "on an existing NATS" },
  ]),
);
