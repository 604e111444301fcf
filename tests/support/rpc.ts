import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { NatsTransport } from "../../runtime/client/nats-transport.ts";

/** A connection to a test server and a client transport over it. */
export interface TestConnection {
  readonly nc: NatsConnection;
  readonly transport: NatsTransport;
  /** Closes the transport, then the connection. */
  close(): Promise<void>;
}

/** A connection and a client transport on a test server; `close()` releases both. */
export async function openTestConnection(url: string): Promise<TestConnection> {
  const nc = await connect({ servers: url });
  const transport = new NatsTransport(nc);
  return {
    nc,
    transport,
    async close() {
      await transport.close();
      await nc.close();
    },
  };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; serviceId?: string; detail?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}
