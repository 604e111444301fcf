/**
 * Shutdown signals (Ctrl-C, `kill`). Bun, Deno and Node all deliver them through `process`.
 * @module
 */

/**
 * Calls `onFirst` on the first SIGINT or SIGTERM; a second signal exits at once with code 130,
 * for when a graceful stop hangs. Returns a function that removes the handlers.
 */
export function onShutdownSignal(onFirst: (signal: string) => void): () => void {
  let received = false;
  const handler = (signal: string) => {
    if (received) process.exit(130);
    received = true;
    onFirst(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Sets the exit code the process will end with. */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

/** The environment variable `name`, or undefined. */
export function env(name: string): string | undefined {
  return process.env[name];
}
