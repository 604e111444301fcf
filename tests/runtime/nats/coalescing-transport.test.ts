/**
 * jetmicro's NATS connections write once per event-loop turn: what many callbacks of one turn
 * publish goes out in one socket write, in order, and nothing held is lost when the
 * connection closes or drains right after publishing.
 */
import { describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { connectNats } from "../../../runtime/nats/mod.ts";
import { withNats } from "../../support/nats.ts";
import { until } from "../../support/wait.ts";

const { nats, conn } = withNats();

/** Counts the socket writes of `nc` (nats.js's transport socket: internal, checked here so an upgrade that moves it is noticed). */
function countWrites(nc: NatsConnection): { readonly count: number } {
  const socket = (nc as unknown as { protocol: { transport: { socket: { write: (...args: unknown[]) => boolean } } } }).protocol.transport.socket;
  expect(typeof socket.write).toBe("function");
  const write = socket.write.bind(socket);
  const counter = { count: 0 };
  socket.write = (...args: unknown[]) => {
    counter.count++;
    return write(...args);
  };
  return counter;
}

/** Receives `subject` on the fixture's own connection until `count` messages came. */
function receive(subject: string, count: number): { readonly got: string[]; done: Promise<void> } {
  const got: string[] = [];
  const sub = conn.nc.subscribe(subject, { max: count, callback: (_e, m) => got.push(m.string()) });
  return { got, done: sub.closed.then(() => undefined) };
}

describe("NATS writes coalesced per event-loop turn", () => {
  it("sends what 50 timer callbacks of one turn publish in one write, in order", async () => {
    const nc = await connectNats({ servers: nats.url, name: "coalesce-test" });
    try {
      const { got, done } = receive("coalesce.turn", 50);
      await conn.nc.flush();
      await nc.flush();
      const writes = countWrites(nc);
      // Timer callbacks due together run in one turn, each followed by its own microtask
      // checkpoint: nats.js alone would write after each.
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 50; i++) setTimeout(() => nc.publish("coalesce.turn", `m${i}`), 0);
        setTimeout(resolve, 0);
      });
      await done;
      expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
      expect(writes.count).toBeLessThanOrEqual(2);
    } finally {
      await nc.close();
    }
  });

  it("loses nothing held when the connection drains, or flushes and closes, right after publishing", async () => {
    // (A bare close() drops unsent publishes in nats.js with or without coalescing: it is not a flush.)
    for (const end of ["flush-close", "drain"] as const) {
      const nc = await connectNats({ servers: nats.url, name: `coalesce-${end}` });
      const { got, done } = receive(`coalesce.${end}`, 200);
      await conn.nc.flush();
      for (let i = 0; i < 200; i++) nc.publish(`coalesce.${end}`, `m${i}`);
      await (end === "drain" ? nc.drain() : nc.flush().then(() => nc.close()));
      await done;
      expect(got.length).toBe(200);
      expect(got[199]).toBe("m199");
    }
  });

  it("answers requests and keeps working across a reconnect", async () => {
    const nc = await connectNats({ servers: nats.url, name: "coalesce-rr" });
    const sub = conn.nc.subscribe("coalesce.echo", { callback: (_e, m) => m.respond(m.data) });
    try {
      await conn.nc.flush();
      const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => nc.request("coalesce.echo", `r${i}`, { timeout: 5000 })));
      expect(replies.map((r) => r.string())).toEqual(Array.from({ length: 100 }, (_, i) => `r${i}`));
      // The server drops the connection; nats.js reconnects with a new transport.
      (nc as unknown as { protocol: { transport: { disconnect(): void } } }).protocol.transport.disconnect();
      await until(async () => (await nc.request("coalesce.echo", "again", { timeout: 500 }).then((m) => m.string(), () => "")) === "again", { timeoutMs: 10_000 });
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });
});
