/**
 * `micro sidecar [flags]`: jetmicro over plain HTTP for apps in any language (see
 * `gateway/sidecar/`). The sidecar reads its own flags and `MICRO_SIDECAR_*` variables, so its
 * arguments bypass the parser (see `main.ts`); the command here puts it in `micro --help`.
 * @module
 */
import { Command } from "effect/cli";
import { Effect } from "effect";
import { runSidecar, sidecarOptionsFromArgs, sidecarUsage } from "../../gateway/sidecar/mod.ts";
import { print } from "../output.ts";
import { reportError } from "../session.ts";

/** Runs the sidecar with raw arguments until it stops (Ctrl-C); resolves with the exit code. */
export async function sidecarMain(args: readonly string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    print(sidecarUsage);
    return 0;
  }
  // Every other command names the server `--nats-url`: accept that spelling too.
  const spelled = args.map((arg) => (arg === "--nats-url" ? "--nats" : arg.startsWith("--nats-url=") ? `--nats=${arg.slice("--nats-url=".length)}` : arg));
  try {
    const running = await runSidecar(sidecarOptionsFromArgs(spelled, process.env));
    await running.stopped;
    return 0;
  } catch (error) {
    return reportError("sidecar", error);
  }
}

export const sidecarCommand = Command.make("sidecar", {}, () => Effect.void).pipe(
  Command.withDescription("Serve the sidecar HTTP API for apps in any language, or front an HTTP app as a service (micro sidecar --help)"),
  Command.withExamples([
    { command: "micro sidecar --port 8081", description: "the sidecar API at http://127.0.0.1:8081/sidecar" },
    { command: "micro sidecar --app http://127.0.0.1:5000 --name orders --endpoint Orders.Create=/orders --health /health", description: "front an HTTP app as service orders" },
  ]),
);
