/**
 * `micro run [dir] [--watch]`: NATS (found or started), every service in `dir`, the gateway.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { connection, connectionFlags } from "../flags.ts";
import { runCommand } from "../run.ts";
import { action, opt } from "../session.ts";
import { commandSources } from "../settings.ts";

/** `--log-level`: the `MICRO_LOG_LEVEL` setting, above the environment and the config file. */
const logLevelFlag = Flag.String("log-level").pipe(Flag.optional, Flag.withDescription("debug, info, warn or error (default: MICRO_LOG_LEVEL, the config file, info)"));

/**
 * `sources` with `value` as the flag of setting `variable`: read as the setting is, so a bad
 * value is refused with the same message as the variable.
 */
function withFlag<S extends ReturnType<typeof commandSources>>(sources: S, variable: string, value: string | undefined): S {
  return value === undefined ? sources : { ...sources, flags: { ...sources.flags, [variable]: value } };
}

export const runServicesCommand = Command.make("run", {
  dir: Argument.String("dir").pipe(Argument.optional, Argument.withDescription("folder of service modules (default: MICRO_SERVICES_DIR, services)")),
  watch: Flag.Boolean("watch").pipe(Flag.withDefault(false), Flag.withAlias("w"), Flag.withDescription("reload a service when its module or proto changes, draining the old instance")),
  noGateway: Flag.Boolean("no-gateway").pipe(Flag.withDefault(false), Flag.withDescription("serve no HTTP gateway (run one on its own with: micro gateway)")),
  module: Flag.String("module").pipe(Flag.optional, Flag.withHidden, Flag.withDescription("run only this module of dir (used by --watch)")),
  logLevel: logLevelFlag,
  ...connectionFlags,
}, (input) =>
  action("run", async () => {
    // Unlike the other commands, run starts a NATS server when no URL is set.
    const sources = withFlag(commandSources(connection(input)), "MICRO_LOG_LEVEL", opt(input.logLevel));
    const noGateway = input.noGateway ? { gatewayPort: 0 } : {};
    return runCommand({ servicesDir: opt(input.dir), onlyModule: opt(input.module), ...noGateway }, { watch: input.watch, sources });
  }),
).pipe(
  Command.withDescription("Run NATS (found at NATS_URL or started), every service module in dir, and the HTTP gateway, until Ctrl-C"),
  Command.withExamples([
    { command: "micro run", description: "services/ on a local NATS (started when none answers)" },
    { command: "micro run services --watch", description: "reload a service when its handler module or proto changes" },
    { command: "micro run --nats-url nats://10.0.0.5:4222", description: "on an existing NATS" },
    { command: "micro run --no-gateway", description: "services only: gateways run on their own (micro gateway)" },
    { command: "micro run --log-level debug", description: "a log line for every call, successes too" },
  ]),
);

/**
 * `micro gateway`: the HTTP gateway alone (go-micro's `micro api`), on the NATS found or
 * started, so gateways and services scale separately.
 */
export const gatewayCommand = Command.make("gateway", {
  port: Flag.String("port").pipe(Flag.optional, Flag.withAlias("p"), Flag.withDescription("HTTP port (default: MICRO_GATEWAY_PORT, the config file, 8080)")),
  logLevel: logLevelFlag,
  ...connectionFlags,
}, (input) =>
  action("gateway", async () => {
    const sources = withFlag(withFlag(commandSources(connection(input)), "MICRO_GATEWAY_PORT", opt(input.port)), "MICRO_LOG_LEVEL", opt(input.logLevel));
    return runCommand({}, { sources, gatewayOnly: true });
  }),
).pipe(
  Command.withDescription("Run the HTTP gateway alone (no services), until Ctrl-C: scale gateways apart from services"),
  Command.withExamples([
    { command: "micro gateway --port 8080 --nats-url nats://10.0.0.5:4222", description: "one more gateway in front of the services on that NATS" },
  ]),
);
