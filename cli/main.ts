/**
 * The `micro` command: parses arguments with Effect's CLI module (help, examples, errors for
 * bad flags) and runs one command per file in `commands/`.
 * @module
 */
import { Effect } from "effect";
import { Command } from "effect/cli";
import { cliEnvironment, cliPresentation } from "./environment.ts";
import { callCommand, callFlags } from "./commands/call.ts";
import { fieldFlagsToPairs } from "./field-flags.ts";
import { describeCommand } from "./commands/describe.ts";
import { actorsCommand } from "./commands/actors.ts";
import { auditCommand } from "./commands/audit.ts";
import { healthCommand } from "./commands/health.ts";
import { newCommand } from "./commands/new.ts";
import { newProjectCommand } from "./commands/new-project.ts";
import { publishCommand } from "./commands/publish.ts";
import { streamCommand, streamFlags } from "./commands/stream.ts";
import { statsCommand } from "./commands/stats.ts";
import { trafficCommand } from "./commands/traffic.ts";
import { replayCommand } from "./commands/replay.ts";
import { dlqCommand } from "./commands/dlq.ts";
import { eventsCommand } from "./commands/events.ts";
import { gatewayCommand, runServicesCommand } from "./commands/run.ts";
import { subscribeCommand } from "./commands/subscribe.ts";
import { servicesCommand } from "./commands/services.ts";
import { sidecarCommand, sidecarMain } from "./commands/sidecar.ts";

const version = "0.1.0";

const micro = Command.make("micro").pipe(
  Command.withDescription("jetmicro: run, inspect and call services and events on NATS JetStream"),
  Command.withSubcommands([
    runServicesCommand,
    gatewayCommand,
    servicesCommand,
    describeCommand,
    callCommand,
    streamCommand,
    publishCommand,
    subscribeCommand,
    replayCommand,
    eventsCommand,
    dlqCommand,
    auditCommand,
    healthCommand,
    statsCommand,
    trafficCommand,
    actorsCommand,
    newCommand,
    sidecarCommand,
  ]),
  Command.withExamples([
    { command: "micro run --watch", description: "run NATS, services/ and the gateway; reload a service when its file changes" },
    { command: "micro call greeter Greeter.SayHello --name Ada", description: "call an endpoint" },
  ]),
);

/** `call`'s and `stream`'s request-field flags (`--name Ada`) become `--field name=Ada` for the parser. */
const ownFlags: Record<string, ReadonlySet<string>> = { call: callFlags, stream: streamFlags };
const argv = (args: string[]) => (args[0] !== undefined && ownFlags[args[0]] !== undefined ? [args[0], ...fieldFlagsToPairs(args.slice(1), ownFlags[args[0]]!)] : args);

// `micro replay ... | head -1`: once the reader is gone, stop quietly as Unix tools do,
// instead of dying with an EPIPE stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(process.exitCode === undefined || process.exitCode === 0 ? 0 : Number(process.exitCode));
  throw error;
});

const program = Command.runWith(micro, { version })(argv(process.argv.slice(2))).pipe(Effect.provide(cliPresentation), Effect.provide(cliEnvironment));
const args = process.argv.slice(2);
if (args.includes("--wizard")) {
  // A built-in of the parser that needs interactive terminal input, which the CLI does not wire up.
  process.stderr.write(`micro: --wizard is not supported; see "micro --help" and "micro <command> --help"\n`);
  process.exitCode = 2;
} else if (args[0] === "new" && args[1] === "project") {
  // `micro new <service>` takes a name where `project` would be a subcommand, so parse it apart.
  try {
    await Effect.runPromise(Command.runWith(newProjectCommand, { version })(args.slice(2)).pipe(Effect.provide(cliPresentation), Effect.provide(cliEnvironment)));
  } catch {
    process.exitCode = 2;
  }
} else if (args[0] === "sidecar") {
  // The sidecar parses its own flags (shared with gateway/sidecar/main.ts).
  process.exitCode = await sidecarMain(args.slice(1));
} else {
  try {
    await Effect.runPromise(program);
  } catch {
    // The parser has already printed the problem and where the help is.
    process.exitCode = 2;
  }
}
