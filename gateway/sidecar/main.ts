/**
 * The sidecar on its own: `bun gateway/sidecar/main.ts [flags]` (flags in `options.ts`).
 * @module
 */
import { MicroError } from "../../runtime/mod.ts";
import { sidecarOptionsFromArgs, sidecarUsage } from "./options.ts";
import { runSidecar } from "./run.ts";

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(sidecarUsage);
} else {
  try {
    const running = await runSidecar(sidecarOptionsFromArgs(args, process.env));
    await running.stopped;
  } catch (error) {
    console.error(`sidecar: ${MicroError.from(error).message}`);
    process.exitCode = 1;
  }
}
