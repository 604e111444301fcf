/**
 * What Effect's CLI parser needs from the platform, made from `effect` itself so the CLI needs
 * no platform package: help and errors are printed through the console, and the commands do
 * their own input and output (the parser's file, terminal-input and process services are unused).
 * @module
 */
import { Effect, FileSystem, Layer, Path, Stdio, Terminal } from "effect";
import { CliOutput } from "effect/cli";
import { ChildProcessSpawner } from "effect/process";
import { colorEnabled } from "./output.ts";

const unused = (what: string) => Effect.die(`the micro CLI does not use ${what}`);

/** The parser's environment on Bun, Deno and Node. */
export const cliEnvironment = Layer.mergeAll(
  FileSystem.layerNoop({}),
  Path.layer,
  Stdio.layerTest({}),
  Layer.succeed(Terminal.Terminal, Terminal.make({
    columns: Effect.sync(() => process.stdout.columns ?? 100),
    rows: Effect.sync(() => process.stdout.rows ?? 24),
    size: unused("terminal resizes"),
    readInput: unused("terminal input"),
    readLine: unused("terminal input"),
    display: (text) => Effect.sync(() => void process.stdout.write(text)),
  })),
  Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, ChildProcessSpawner.make(() => unused("child processes"))),
);

const formatter = CliOutput.defaultFormatter({ colors: colorEnabled, globalFlags: "summary" });

/**
 * Help and the version on stdout; a bad invocation on stderr as the problem and where the
 * help is, not the whole help page (which would bury the error).
 */
export const cliPresentation = Layer.mergeAll(
  CliOutput.layer(formatter),
  CliOutput.layerPresenter({
    present: (event) =>
      Effect.sync(() => {
        if (event._tag === "Help") process.stdout.write(`${formatter.formatHelpDoc(event.helpDoc)}\n`);
        else if (event._tag === "Version") process.stdout.write(`${formatter.formatVersion(event.name, event.version)}\n`);
        else {
          const path = event.commandPath.join(" ");
          process.stderr.write(`${formatter.formatErrors(event.errors)}\n\nSee "${path} --help".\n`);
        }
      }),
  }),
);
