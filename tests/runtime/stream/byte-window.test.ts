import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { headers as natsHeaders, type Msg } from "@nats-io/nats-core";
import { Counter, CountRequestSchema } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, defineService, MicroError, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { defaultWindowBytes, legacyWindow } from "../../../runtime/stream/protocol.ts";
import { startTestNats } from "../../support/nats.ts";
import { rawStream, rawStreamServer } from "../../support/raw-stream.ts";
import { gate, openTestConnection, rejection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
const seen = { produced: 0, consumed: 0, aborted: 0 };
let sumGate = gate();
/** Inbox subscriptions of the hand-written servers, dropped after each test. */

/** `count` yields `to` messages of `payloadBytes` padding; `sum` reads nothing until the test opens `sumGate`. */
const bytes = defineService(Counter, { name: "byte-window" }, {
  async *count(request, ctx) {
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    const payload = new Uint8Array(request.payloadBytes);
    for (let n = 1; n <= request.to; n++) {
      seen.produced++;
      yield { n, payload };
    }
  },
  async sum(requests) {
    await sumGate.opened;
    let count = 0;
    for await (const _ of requests) count++;
    return { sum: count, count };
  },
  async *echo(requests) {
    for await (const { text } of requests) {
      seen.consumed++;
      yield { text };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instances.push(await startService(bytes, { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined }));
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

/** The data messages in `frames`, unpacking batch frames (4-byte length + bytes each). */
function messagesIn(frames: Msg[]): Uint8Array[] {
  return frames.flatMap((f) => {
    if (f.headers === undefined) return [f.data];
    if (f.headers.get("Micro-Frame") !== "batch") return [];
    const out: Uint8Array[] = [];
    const view = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
    for (let at = 0; at < f.data.length; at += 4 + view.getUint32(at)) out.push(f.data.subarray(at + 4, at + 4 + view.getUint32(at)));
    return out;
  });
}

/**
 * A hand-written stream client on raw NATS: opens `endpoint` of the test service with the
 * stream headers in `announce` (a missing byte window is an older peer) and records every frame.
 */
function rawOpen(endpoint: string, announce: Record<string, string>) {
  const peer = rawStream(conn.nc, `micro.srv.byte-window.Counter.${endpoint}`, announce);
  return {
    ...peer,
    accept: () => peer.kinds("open")[0]!,
    messages: () => messagesIn(peer.frames),
    bytes: () => messagesIn(peer.frames).reduce((sum, m) => sum + m.length, 0),
    /** Resolves on the next ping from the server: anything it flushed before has arrived by then (one publisher's order). */
    async nextPing() {
      const pings = peer.kinds("ping").length;
      await until(() => peer.kinds("ping").length > pings, 3000);
    },
  };
}

const countRequest = (to: number, payloadBytes: number) => toBinary(CountRequestSchema, create(CountRequestSchema, { to, payloadBytes }));
/** A SumRequest of about `size` bytes: an unknown field 15 of padding, which decoding skips. */
function paddedSum(size: number): Uint8Array {
  const body = size - 4;
  return new Uint8Array([0x7a, 0x80 | (body & 0x7f), 0x80 | ((body >> 7) & 0x7f), body >> 14, ...new Uint8Array(body)]);
}

describe("byte window", () => {
  it("a sender keeps within the byte window plus one message until the reader grants bytes back", async () => {
    seen.produced = 0;
    const window = 10_000;
    const peer = rawOpen("Count", { "Micro-Stream-Window": "1000", "Micro-Stream-Window-Bytes": String(window), "Micro-Stream-Batch": "1" });
    try {
      await peer.opened();
      expect(peer.accept().headers!.get("Micro-Stream-Window-Bytes")).toBe(String(defaultWindowBytes));
      peer.send(undefined, countRequest(1000, 1000));
      peer.send("end");
      await until(() => peer.bytes() >= window, 3000);
      await peer.nextPing();
      const size = peer.messages()[0]!.length;
      // It sends while any byte credit is left: the window is full, overshot by less than one message.
      expect(peer.bytes()).toBeGreaterThanOrEqual(window);
      expect(peer.bytes()).toBeLessThan(window + size);
      expect(peer.messages().length).toBe(Math.ceil(window / size));
      // The handler is paused by the sender's credit: one more message waits in it, at most.
      expect(seen.produced).toBeLessThanOrEqual(peer.messages().length + 1);

      // Granting the bytes back (and plenty of messages) lets exactly one more window through.
      const first = peer.bytes();
      peer.send("credit", undefined, { "Micro-Credit": String(peer.messages().length), "Micro-Credit-Bytes": String(first) });
      await until(() => peer.bytes() >= first + window - size, 3000);
      await peer.nextPing();
      expect(peer.bytes()).toBeLessThan(first + window + size);
      peer.send("cancel");
      await until(() => seen.aborted > 0, 3000);
    } finally {
      peer.close();
    }
  });

  it("hostile byte credit (garbage, zero, absurd) grants nothing or at most the announced window", async () => {
    const window = 5_000;
    const peer = rawOpen("Count", { "Micro-Stream-Window": "1000", "Micro-Stream-Window-Bytes": String(window), "Micro-Stream-Batch": "1" });
    try {
      await peer.opened();
      peer.send(undefined, countRequest(100_000, 500));
      peer.send("end");
      await until(() => peer.bytes() >= window, 3000);
      await peer.nextPing();
      const first = peer.bytes();
      // Message credit with byte credit that is not a positive integer: no byte credit, nothing sent.
      for (const bad of ["abc", "0", "-5000", "1e4", "0x1000", "5000.5", "", "-"]) {
        peer.send("credit", undefined, { "Micro-Credit": "10", "Micro-Credit-Bytes": bad });
      }
      await peer.nextPing();
      expect(peer.bytes()).toBe(first);
      // Absurd credit is clamped to the window the peer announced.
      peer.send("credit", undefined, { "Micro-Credit": "1000", "Micro-Credit-Bytes": "999999999999999999999" });
      await until(() => peer.bytes() > first, 3000);
      await peer.nextPing();
      expect(peer.bytes() - first).toBeLessThan(window + 600);
      peer.send("cancel");
    } finally {
      peer.close();
    }
  });

  it("one message larger than the byte window still passes when nothing else is in flight", async () => {
    // Raw: a peer with a 1000-byte window gets one 20 KiB message, then nothing until it grants it back.
    const peer = rawOpen("Count", { "Micro-Stream-Window": "100", "Micro-Stream-Window-Bytes": "1000", "Micro-Stream-Batch": "1" });
    try {
      await peer.opened();
      peer.send(undefined, countRequest(3, 20_000));
      peer.send("end");
      await until(() => peer.messages().length >= 1, 3000);
      await peer.nextPing();
      expect(peer.messages().length).toBe(1);
      peer.send("credit", undefined, { "Micro-Credit": "1", "Micro-Credit-Bytes": String(peer.bytes()) });
      await until(() => peer.messages().length >= 2, 3000);
      await peer.nextPing();
      expect(peer.messages().length).toBe(2);
      peer.send("cancel");
    } finally {
      peer.close();
    }
    // Typed: every message over the client's byte window arrives, none stalls the stream.
    const c = createClient(Counter, conn.transport, { service: "byte-window" });
    let got = 0;
    for await (const r of c.count({ to: 20, payloadBytes: 50_000 }, { windowBytes: 4096 })) {
      expect(r.payload.length).toBe(50_000);
      got++;
    }
    expect(got).toBe(20);
  });

  it("a slow reader with a byte window holds the producer within it, and gets everything", async () => {
    seen.produced = 0;
    const c = createClient(Counter, conn.transport, { service: "byte-window" });
    let consumed = 0;
    let maxAhead = 0;
    // 4 KiB messages, a 16 KiB byte window and a message window far above it: bytes decide.
    for await (const _ of c.count({ to: 200, payloadBytes: 4096 }, { window: 1000, windowBytes: 16 * 1024 })) {
      consumed++;
      maxAhead = Math.max(maxAhead, seen.produced - consumed);
      if (consumed % 10 === 0) await Bun.sleep(2);
    }
    expect(consumed).toBe(200);
    // Four messages fill the window, one overshoots it, one waits in the generator.
    expect(maxAhead).toBeLessThanOrEqual(6);
    expect(maxAhead).toBeGreaterThanOrEqual(3);
  });

  it("a peer sending past its byte credit fails the stream with resource_exhausted", async () => {
    // The handler reads nothing yet: the service's 1 MiB window holds 3 messages of 400 KB (the
    // third starts below the window), a fourth is over it.
    sumGate = gate();
    const fits = rawOpen("Sum", { "Micro-Stream-Window": "100", "Micro-Stream-Window-Bytes": "100000" });
    const over = rawOpen("Sum", { "Micro-Stream-Window": "100", "Micro-Stream-Window-Bytes": "100000" });
    try {
      await Promise.all([fits.opened(), over.opened()]);
      for (let i = 0; i < 3; i++) fits.send(undefined, paddedSum(400_000));
      fits.send("end");
      for (let i = 0; i < 4; i++) over.send(undefined, paddedSum(400_000));
      await until(() => over.kinds("error").length > 0, 3000);
      expect(over.kinds("error")[0]!.headers!.get("Micro-Error-Code")).toBe("resource_exhausted");
      expect(over.kinds("error")[0]!.headers!.get("Nats-Service-Error")).toContain(`more than the ${defaultWindowBytes} bytes it had credit for`);
      sumGate.open();
      // The one within its credit is served in full.
      await until(() => fits.messages().length > 0, 3000);
      expect(fits.kinds("error")).toEqual([]);
    } finally {
      sumGate.open();
      fits.close();
      over.close();
    }
  });
});

describe("older peers (message window only)", () => {
  it("a client announcing no byte window is held to messages only, and gets the old message window", async () => {
    // 40 messages of 64 KiB (2.6 MB, far over the byte window) to a window of 100 messages: all of them arrive ungranted.
    const peer = rawOpen("Count", { "Micro-Stream-Window": "100" });
    try {
      await peer.opened();
      expect(peer.accept().headers!.get("Micro-Stream-Window")).toBe(String(legacyWindow));
      peer.send(undefined, countRequest(40, 64 * 1024));
      peer.send("end");
      await until(() => peer.kinds("end").length > 0, 5000);
      expect(peer.messages().length).toBe(40);
    } finally {
      peer.close();
    }
  });

  it("the credit a service returns to such a client carries no byte credit", async () => {
    seen.consumed = 0;
    const peer = rawOpen("Echo", { "Micro-Stream-Window": "1000" });
    try {
      await peer.opened();
      for (let i = 0; i < legacyWindow; i++) peer.send(undefined, new Uint8Array([0x0a, 0x01, 0x61]));
      await until(() => peer.kinds("credit").length > 0, 3000);
      expect(peer.kinds("credit")[0]!.headers!.get("Micro-Credit-Bytes")).toBe("");
      peer.send("cancel");
    } finally {
      peer.close();
    }
  });

  it("a service announcing no byte window gets messages of any size, up to its message window", async () => {
    // A hand-written older server: accepts with a window of 5 messages and no byte window, never grants.
    let received = 0;
    const server = rawStreamServer(conn.nc, "micro.srv.old-server.>", { "Micro-Stream-Window": "5" }, (msg) => void (msg.headers === undefined && received++));
    try {
      const c = createClient(Counter, conn.transport, { service: "old-server" });
      const controller = new AbortController();
      async function* requests() {
        for (;;) yield { text: "x".repeat(300_000) };
      }
      const reader = (async () => {
        for await (const _ of c.echo(requests(), { signal: controller.signal, heartbeatMs: 5000 })) void _;
      })().catch(() => undefined);
      // 5 messages of 300 KB: 1.5 MB, over any byte window, sent one by one (too big to batch).
      await until(() => received >= 5, 3000);
      await conn.nc.flush();
      expect(received).toBe(5);
      controller.abort();
      await reader;
    } finally {
      server.stop();
    }
  });
});

describe("hostile byte windows", () => {
  it("a service refuses an open whose byte window is not an integer from 1 to 2^30", async () => {
    for (const bad of ["0", "-1", "abc", "1e3", "0x10", "1.5", "1073741825", "99999999999999999999"]) {
      const h = natsHeaders();
      h.set("Micro-Stream", "1");
      h.set("Micro-Stream-Window", "10");
      h.set("Micro-Stream-Window-Bytes", bad);
      h.set("Content-Type", "application/proto");
      const reply = await conn.nc.request("micro.srv.byte-window.Counter.Count", new Uint8Array(0), { headers: h, timeout: 3000 });
      expect([bad, reply.headers?.get("Micro-Error-Code")]).toEqual([bad, "invalid_argument"]);
      expect(reply.headers?.get("Nats-Service-Error")).toContain("Micro-Stream-Window-Bytes must be an integer from 1 to 1073741824");
    }
  });

  it("a client refuses a byte window out of range with a clear error", async () => {
    const c = createClient(Counter, conn.transport, { service: "byte-window" });
    const error = await rejection((async () => {
      for await (const _ of c.count({ to: 1 }, { windowBytes: 0 })) void _;
    })());
    expect([(error as MicroError).code, error.message]).toEqual(["invalid_argument", "stream windowBytes must be an integer from 1 to 1073741824, got 0"]);
  });

  it("a service accepting with an invalid byte window fails the client with internal and is told", async () => {
    let canceled = false;
    const server = rawStreamServer(conn.nc, "micro.srv.bad-accept.>", { "Micro-Stream-Window": "5", "Micro-Stream-Window-Bytes": "-7" }, (msg) => void (msg.headers?.get("Micro-Frame") === "cancel" && (canceled = true)));
    try {
      const c = createClient(Counter, conn.transport, { service: "bad-accept" });
      const error = await rejection((async () => {
        for await (const _ of c.count({ to: 1 })) void _;
      })());
      expect((error as MicroError).code).toBe("internal");
      expect(error.message).toContain('announced an invalid byte window "-7"');
      await until(() => canceled, 3000);
    } finally {
      server.stop();
    }
  });
});
