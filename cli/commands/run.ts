/**
 * `micro run [dir] [--watch]`: NATS (found or started), every service in `dir`, the gateway.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import type { RunnerConfig } from "../../runtime/runner/runner.ts";
import { connectionFlags } from "../flags.ts";
import { runCommand } from "../run.ts";
import { action, opt } from "../session.ts";
import { readConfigFile } from "../settings.ts";

export const runServicesCommand = Command.make("run", {
  dir: Argument.String("dir").pipe(Argument.optional, Argument.withDescription("folder of service modules (default: MICRO_SERVICES_DIR, services)")),
  watch: Flag.Boolean("watch").pipe(Flag.withDefault(false), Flag.withAlias("w"), Flag.withDescription("reload a service when its module or proto changes, draining the old instance")),
  module: Flag.String("module").pipe(Flag.optional, Flag.withHidden, Flag.withDescription("run only this module of dir (used by --watch)")),
  ...connectionFlags,
}, (input) =>
  action("run", async () => {
    // Unlike the other commands, run starts a NATS server when none is given.
    const file = readConfigFile(opt(input.config));
    const natsUrl = opt(input.natsUrl) ?? (process.env.NATS_URL || undefined) ?? (file.natsUrl as string | undefined);
    const namespace = opt(input.namespace) ?? (process.env.MICRO_NAMESPACE || undefined) ?? (file.namespace as string | undefined);
    const overrides: Partial<RunnerConfig> = {
      ...(opt(input.dir) === undefined ? {} : { servicesDir: opt(input.dir) }),
      ...(natsUrl === undefined ? {} : { natsUrl }),
      ...(namespace === undefined ? {} : { namespace }),
      ...(opt(input.module) === undefined ? {} : { onlyModule: opt(input.module) }),
    };
    return runCommand(overrides, { watch: input.watch });
  }),
).pipe(
  Command.withDescription("Run NATS (found at NATS_URL or started), every service module in dir, and the HTTP gateway, until Ctrl-C"),
  Command.withExamples([
    { command: "micro run", description: "services/ on a local NATS (started when none answers)" },
    { command: "micro run services --watch", description: "reload a service when its handler module or proto changes" },
    { command: "micro run --nats-url nats://10.0.0.5:4222", description: "on an existing NATS" },
  ]),
);
