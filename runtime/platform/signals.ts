/**
 * Shutdown signals (Ctrl-C, `kill`). Bun, Deno and Node all deliver them through `process`.
 * @module
 */

/**
 * Calls `onFirst` on the first SIGINT or SIGTERM; a second signal exits at once with code 130,
 * for when a graceful stop hangs. Returns a function that removes the handlers.
 *
 * Signals within a second of the first count as the same one: Ctrl-C reaches every process
 * of the terminal's group and wrappers such as npm forward it again, so one press often
 * arrives twice.
 */
export function onShutdownSignal(onFirst: (signal: string) => void): () => void {
  let receivedAt: number | undefined;
  const handler = (signal: string) => {
    if (receivedAt !== undefined) {
      if (Date.now() - receivedAt > 1000) process.exit(130);
      return;
    }
    receivedAt = Date.now();
    onFirst(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/**
 * Exits with `code` (1) after `ms` unless the process has ended by then: the bound on a graceful
 * stop, which can otherwise wait forever on a NATS server that is gone (a drain waits for a
 * connection that never comes back). The timer does not keep the process alive; the function
 * returned cancels it.
 */
export function exitAfter(ms: number, onExpire: () => void, code = 1): () => void {
  const timer = setTimeout(() => {
    onExpire();
    process.exit(code);
  }, ms);
  (timer as { unref?: () => void }).unref?.();
  return () => clearTimeout(timer);
}

/** Sets the exit code the process will end with. */
export function setExitCode(code: number): void {
  process.exitCode = code;
}

/** The environment variable `name`, or undefined. */
export function env(name: string): string | undefined {
  return process.env[name];
}
