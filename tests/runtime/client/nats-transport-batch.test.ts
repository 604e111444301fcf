/**
 * `NatsTransport` with `batchWrites` (the gateway's): the sends of one I/O turn go out
 * together at its end. Every call is still answered, in full; a call that ends before the
 * batch goes out is never sent; refusals that need no NATS stay immediate.
 */
import { headers as natsHeaders } from "@nats-io/nats-core";
import { beforeAll, describe, expect, it } from "bun:test";
import { NatsTransport } from "../../../runtime/client/nats-transport.ts";
import { MicroError } from "../../../runtime/mod.ts";
import { withNats } from "../../support/nats.ts";

const { conn, teardown } = withNats();
const subject = "batch.echo";
let received = 0;
let transport: NatsTransport;

beforeAll(async () => {
  const sub = conn.nc.subscribe(subject, {
    callback: (_error, msg) => {
      received++;
      msg.respond(msg.data);
    },
  });
  await conn.nc.flush();
  transport = new NatsTransport(conn.nc, { batchWrites: true });
  teardown(async () => {
    await transport.close();
    sub.unsubscribe();
  });
});

const text = new TextEncoder();
const read = new TextDecoder();

describe("NatsTransport with batched writes", () => {
  it("answers every call of one turn with its own reply", async () => {
    const deadline = Date.now() + 5_000;
    const calls = Array.from({ length: 200 }, (_, i) => transport.request(subject, text.encode(`m${i}`), natsHeaders(), deadline));
    const replies = await Promise.all(calls);
    expect(replies.map((r) => read.decode(r.data))).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
  });

  it("never sends a call canceled before its batch went out", async () => {
    const before = received;
    const controller = new AbortController();
    const canceled = transport.request(subject, text.encode("no"), natsHeaders(), Date.now() + 5_000, controller.signal);
    const kept = transport.request(subject, text.encode("yes"), natsHeaders(), Date.now() + 5_000);
    controller.abort(new Error("changed my mind"));
    const error = await canceled.then(() => undefined, (e: MicroError) => e);
    expect(error?.code).toBe("canceled");
    expect(read.decode((await kept).data)).toBe("yes");
    // The kept call's reply came after the server saw everything sent in that batch.
    expect(received - before).toBe(1);
  });

  it("refuses a request over the max payload at once, and a closed transport at once", async () => {
    const big = new Uint8Array((conn.nc.info?.max_payload ?? 1_048_576) + 1);
    const error = await transport.request(subject, big, natsHeaders(), Date.now() + 5_000).then(() => undefined, (e: MicroError) => e);
    expect(error?.code).toBe("invalid_argument");
    const other = new NatsTransport(conn.nc, { batchWrites: true });
    const pending = other.request(subject, text.encode("late"), natsHeaders(), Date.now() + 5_000);
    await other.close();
    expect((await pending.then(() => undefined, (e: MicroError) => e))?.code).toBe("unavailable");
  });
});
