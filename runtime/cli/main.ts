/**
 * The `micro` command. For now `run`; the CLI issue adds the rest.
 * @module
 */
import { runCommand } from "./run.ts";

const usage = `usage: micro <command>

commands:
  run [dir]   start NATS (found at NATS_URL or started), every service in dir (default services/)`;

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case "run":
    process.exitCode = await runCommand(rest);
    break;
  case undefined:
  case "help":
  case "--help":
  case "-h":
    console.log(usage);
    break;
  default:
    console.error(`micro: unknown command "${command}"\n\n${usage}`);
    process.exitCode = 2;
}
