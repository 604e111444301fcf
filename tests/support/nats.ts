import { afterAll, beforeAll } from "bun:test";
import { ensureNatsServerBinary, type NatsServerProcess, startNatsServer } from "../../runtime/nats/mod.ts";
import { openTestConnection, type TestConnection } from "./rpc.ts";

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
export async function startTestNats(args: readonly string[] = []): Promise<NatsServerProcess> {
  const binary = await ensureNatsServerBinary();
  return await startNatsServer({ binary, args: [...args] });
}

/** The nats-server and the connection {@link withNats} keeps for the tests of one file. */
export interface NatsFixture {
  /** The file's own nats-server (usable from the first `beforeAll` on). */
  readonly nats: NatsServerProcess;
  /** A connection and a client transport on it. */
  readonly conn: TestConnection;
  /**
   * Adds a clean-up step. Steps run after the file's last test, last added first, and all
   * before the connection closes and the server stops (so a service can still deregister).
   * A step may be added from a `beforeAll` or a test as well.
   */
  teardown(step: () => unknown): void;
}

/**
 * Gives a test file its own nats-server and one open connection: starts both in a
 * `beforeAll` registered now (so it runs before the file's own `beforeAll`s), and in an
 * `afterAll` runs the {@link NatsFixture.teardown} steps, then closes the connection and stops
 * the server. `nats` and `conn` are stable objects that read through to the live ones, so a
 * file can destructure them at the top.
 *
 * Call it once, at the top level of a test file, before any other hook. `args` are extra
 * nats-server arguments (e.g. a monitoring port), or a function giving them when it starts.
 *
 * @example
 * const { nats, conn, teardown } = withNats();
 * let instance: ServiceInstance;
 * beforeAll(async () => {
 *   instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
 *   teardown(() => instance.stop());
 * });
 */
export function withNats(options: { readonly args?: readonly string[] | (() => Promise<readonly string[]>) } = {}): NatsFixture {
  let server: NatsServerProcess | undefined;
  let connection: TestConnection | undefined;
  const steps: Array<() => unknown> = [];
  const live = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`withNats(): the ${what} is used before its beforeAll ran (or after its afterAll)`);
    return value;
  };
  beforeAll(async () => {
    server = await startTestNats(typeof options.args === "function" ? await options.args() : options.args);
    connection = await openTestConnection(server.url);
  });
  afterAll(async () => {
    const failures: unknown[] = [];
    for (const step of steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        failures.push(error);
      }
    }
    await connection?.close();
    await server?.stop();
    connection = undefined;
    server = undefined;
    if (failures.length > 0) throw new AggregateError(failures, "withNats(): a teardown step failed");
  });
  const nats: NatsServerProcess = {
    get url() {
      return live(server, "nats-server").url;
    },
    get port() {
      return live(server, "nats-server").port;
    },
    get storeDir() {
      return live(server, "nats-server").storeDir;
    },
    get pid() {
      return live(server, "nats-server").pid;
    },
    get exited() {
      return live(server, "nats-server").exited;
    },
    stop: () => live(server, "nats-server").stop(),
    kill: (signal) => live(server, "nats-server").kill(signal),
  };
  const conn: TestConnection = {
    get nc() {
      return live(connection, "connection").nc;
    },
    get transport() {
      return live(connection, "connection").transport;
    },
    close: () => live(connection, "connection").close(),
  };
  return { nats, conn, teardown: (step) => void steps.push(step) };
}
