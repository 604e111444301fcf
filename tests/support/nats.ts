import { ensureNatsServerBinary, type NatsServerProcess, startNatsServer } from "../../runtime/nats/mod.ts";

/**
 * Starts a throwaway nats-server for one test file: JetStream on, a random free port and a
 * fresh temp store dir that `stop()` deletes, so test files can run in parallel without
 * sharing state. Installs nats-server first if it is missing and that is possible, so a
 * single test file also runs without `npm test`'s setup step.
 *
 * @example
 * let nats: NatsServerProcess;
 * beforeAll(async () => { nats = await startTestNats(); });
 * afterAll(() => nats.stop());
 */
export async function startTestNats(): Promise<NatsServerProcess> {
  const binary = await ensureNatsServerBinary();
  return await startNatsServer({ binary });
}
