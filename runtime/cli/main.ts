/**
 * The `micro` command: parses arguments with Effect's CLI module (help, examples, errors for
 * bad flags) and runs one command per file in `commands/`.
 * @module
 */
import { Effect } from "effect";
import { Command } from "effect/cli";
import { cliEnvironment, cliPresentation } from "./environment.ts";
import { servicesCommand } from "./commands/services.ts";

const version = "0.1.0";

const micro = Command.make("micro").pipe(
  Command.withDescription("jetmicro: run, inspect and call services and events on NATS JetStream"),
  Command.withSubcommands([
    servicesCommand,
  ]),
  Command.withExamples([
    { command: "micro run --watch", description: "run NATS, services/ and the gateway; reload a service when its file changes" },
    { command: "micro call greeter Greeter.SayHello --name Ada", description: "call an endpoint" },
  ]),
);

const program = Command.runWith(micro, { version })(process.argv.slice(2)).pipe(Effect.provide(cliPresentation), Effect.provide(cliEnvironment));
try {
  await Effect.runPromise(program);
} catch {
  // The parser has already printed the problem and the help of the command.
  process.exitCode = 2;
}
