/**
 * Command-line entry for `scripts/setup.mjs`: makes sure nats-server is installed, printing a
 * line only when it does something, and exits non-zero with instructions when it cannot.
 * @module
 */
import { ensureNatsServerBinary } from "./server-binary.ts";

try {
  await ensureNatsServerBinary({ log: (line) => console.log(`setup: ${line}`) });
} catch (error) {
  console.error(`setup: ${(error as Error).message}`);
  process.exitCode = 1;
}
