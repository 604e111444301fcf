import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { Msg } from "@nats-io/nats-core";
import { Counter, CountRequestSchema, CountResponseSchema } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, defineService, MicroError, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { startTestNats } from "../../support/nats.ts";
import { rawStream, rawStreamServer } from "../../support/raw-stream.ts";
import { openTestConnection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
const seen = { produced: 0, aborted: 0 };

const endless = defineService(Counter, { name: "channel-endless" }, {
  async *count(request, ctx) {
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    for (let n = 1; n <= request.to; n++) {
      seen.produced++;
      yield { n };
    }
  },
});

/** Ends in whichever way the request asks: to > 100 fails after 2 messages. */
const outcomes = defineService(Counter, { name: "counter-outcomes" }, {
  async *count(request) {
    for (let n = 1; n <= request.to; n++) {
      if (request.to > 100 && n > 2) throw new MicroError("not_found", "gone");
      if (request.intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, request.intervalMs));
      yield { n };
    }
  },
  async sum(requests) {
    let sum = 0;
    for await (const { value } of requests) {
      if (value < 0) return { sum };
      sum += value;
    }
    return { sum };
  },
  async *echo(requests) {
    for await (const { text } of requests) yield { text };
  },
});

const slowly = defineService(Counter, { name: "counter-slowly" }, {
  async *count(request) {
    for (let n = 1; n <= request.to; n++) {
      await new Promise((resolve) => setTimeout(resolve, request.intervalMs));
      yield { n };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  const options = { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined };
  instances.push(await startService(endless, options), await startService(slowly, options), await startService(outcomes, options));
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

/** A hand-written stream client on raw NATS: opens `Counter.Count` and records every frame. */
function rawOpen(to: number, window: number, batches = false) {
  const peer = rawStream(conn.nc, "micro.srv.channel-endless.Counter.Count", { "Micro-Stream-Window": String(window), ...(batches ? { "Micro-Stream-Batch": "1" } : {}) });
  return {
    ...peer,
    data: () => peer.frames.filter((f) => f.headers === undefined).length,
    request: toBinary(CountRequestSchema, create(CountRequestSchema, { to })),
  };
}

describe("stream channel", () => {
  it("a slow reader still gets a clean end after the server finished and went quiet", async () => {
    // The server sends all 20 messages at once (window 128), ends and stops pinging; the client
    // then reads one message every 30 ms, far beyond 3 heartbeat intervals of 50 ms.
    const c = createClient(Counter, conn.transport, { service: "channel-endless" });
    const got: number[] = [];
    for await (const r of c.count({ to: 20 }, { heartbeatMs: 50 })) {
      got.push(r.n);
      await Bun.sleep(30);
    }
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it("a peer granting absurd credit cannot make the sender exceed the window it announced", async () => {
    seen.produced = 0;
    const peer = rawOpen(1_000_000, 2);
    try {
      await peer.opened();
      peer.send(undefined, peer.request);
      peer.send("end");
      peer.send("credit", undefined, { "Micro-Credit": "1000000000" });
      await Bun.sleep(300);
      // At most the window it started with plus one window refilled: the rest waits for real credit.
      expect(peer.data()).toBeLessThanOrEqual(4);
      expect(seen.produced).toBeLessThanOrEqual(6);
      peer.send("cancel");
      await until(() => seen.aborted > 0, 3000);
    } finally {
      peer.close();
    }
  });
});

describe("stream channel timing", () => {
  it("a consumer that blocks its event loop for many heartbeat intervals is not told the peer is gone", async () => {
    const c = createClient(Counter, conn.transport, { service: "counter-slowly" });
    const got: number[] = [];
    for await (const r of c.count({ to: 4, intervalMs: 100 }, { heartbeatMs: 50 })) {
      got.push(r.n);
      const until = Date.now() + 400;
      while (Date.now() < until); // CPU-bound work: no timers, no I/O
    }
    expect(got).toEqual([1, 2, 3, 4]);
  });
});

describe("stream deadlines", () => {
  it("a deadline weeks away does not end the stream at once (timer overflow)", async () => {
    const c = createClient(Counter, conn.transport, { service: "counter-slowly" });
    const got: number[] = [];
    for await (const r of c.count({ to: 3, intervalMs: 10 }, { deadline: Date.now() + 30 * 86_400_000 })) got.push(r.n);
    expect(got).toEqual([1, 2, 3]);
  });
});

describe("stream resources", () => {
  /** Subscriptions open on the test connection (client and server ends both live on it). */
  const subscriptions = () => (conn.nc as unknown as { protocol: { subscriptions: { size(): number } } }).protocol.subscriptions.size();
  const settle = <T>(p: Promise<T>) => p.then(() => undefined, () => undefined);

  it("no inbox subscription outlives a stream, however it ends", async () => {
    const before = subscriptions();
    const c = createClient(Counter, conn.transport, { service: "counter-outcomes" });
    const nobody = createClient(Counter, conn.transport, { service: "counter-nobody" });
    const drain = async (iterable: AsyncIterable<unknown>, stopAt = Infinity) => {
      let n = 0;
      for await (const _ of iterable) if (++n >= stopAt) break;
    };
    async function* values(items: number[], failAt?: number) {
      for (const [i, value] of items.entries()) {
        if (i === failAt) throw new Error("input broke");
        yield { value };
      }
    }
    async function* texts(n: number, failAt?: number) {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error("input broke");
        yield { text: String(i) };
      }
    }
    for (let round = 0; round < 5; round++) {
      const aborted = new AbortController();
      await Promise.all([
        settle(drain(c.count({ to: 50 }))), // completes
        settle(drain(c.count({ to: 500 }))), // handler error after 2 messages
        settle(drain(c.count({ to: 50, intervalMs: 5 }), 3)), // the caller breaks
        settle(drain(c.count({ to: 50, intervalMs: 5 }, { signal: aborted.signal }))), // the caller aborts
        settle(drain(c.count({ to: 50, intervalMs: 5 }, { timeoutMs: 30 }))), // deadline
        settle(c.sum(values([1, 2, -1, 4, 5]))), // the handler answers early
        settle(c.sum(values([1, 2, 3], 1))), // the request iterable fails
        settle(drain(c.echo(texts(20)))), // bidi completes
        settle(drain(c.echo(texts(20, 5)))), // bidi input fails
        settle(drain(nobody.count({ to: 1 }))), // nothing serves it
      ].map((p, i) => (i === 3 ? (setTimeout(() => aborted.abort(), 20), p) : p)));
    }
    await until(() => subscriptions() === before, 3000).catch(() => undefined);
    expect(subscriptions()).toBe(before);
  });
});

describe("a buggy peer", () => {
  it("an unknown control frame fails the stream on the server and tells the peer why", async () => {
    const peer = rawOpen(1_000_000, 2);
    try {
      await peer.opened();
      peer.send(undefined, peer.request);
      peer.send("bogus");
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "error"), 3000);
      const error = peer.frames.find((f) => f.headers?.get("Micro-Frame") === "error")!;
      expect(error.headers!.get("Micro-Error-Code")).toBe("invalid_argument");
      expect(error.headers!.get("Nats-Service-Error")).toBe('Counter.Count: unknown stream frame "bogus"');
    } finally {
      peer.close();
    }
  });

  it("a request that is not the method's message fails the stream with invalid_argument", async () => {
    const peer = rawOpen(1, 2);
    try {
      await peer.opened();
      peer.send(undefined, new Uint8Array([0xff, 0xff, 0xff]));
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "error"), 3000);
      const error = peer.frames.find((f) => f.headers?.get("Micro-Frame") === "error")!;
      expect(error.headers!.get("Micro-Error-Code")).toBe("invalid_argument");
      expect(error.headers!.get("Nats-Service-Error")).toContain("cannot decode counter.v1.CountRequest");
    } finally {
      peer.close();
    }
  });
});

describe("batch frames", () => {
  /** The data messages in `frames`, unpacking batch frames (4-byte length + bytes each). */
  const messagesIn = (frames: Msg[]) =>
    frames.flatMap((f) => {
      if (f.headers === undefined) return [f.data];
      if (f.headers.get("Micro-Frame") !== "batch") return [];
      const out: Uint8Array[] = [];
      const view = new DataView(f.data.buffer, f.data.byteOffset, f.data.byteLength);
      for (let at = 0; at < f.data.length; at += 4 + view.getUint32(at)) out.push(f.data.subarray(at + 4, at + 4 + view.getUint32(at)));
      return out;
    });

  it("a peer that does not announce batches gets one data frame per message", async () => {
    const peer = rawOpen(40, 128);
    try {
      await peer.opened();
      peer.send(undefined, peer.request);
      peer.send("end");
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "end"), 3000);
      expect(peer.data()).toBe(40);
      expect(peer.frames.some((f) => f.headers?.get("Micro-Frame") === "batch")).toBe(false);
    } finally {
      peer.close();
    }
  });

  it("a peer that announces batches gets the messages together, all of them, in order", async () => {
    const peer = rawOpen(40, 128, true);
    try {
      await peer.opened();
      expect(peer.frames[0]!.headers!.get("Micro-Stream-Batch")).toBe("1");
      peer.send(undefined, peer.request);
      peer.send("end");
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "end"), 3000);
      const ns = messagesIn(peer.frames).map((m) => fromBinary(CountResponseSchema, m).n);
      expect(ns).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(peer.frames.filter((f) => f.headers?.get("Micro-Frame") === "batch").length).toBeLessThan(40);
    } finally {
      peer.close();
    }
  });

  it("a malformed batch fails the stream with invalid_argument and tells the peer why", async () => {
    const peer = rawOpen(1_000_000, 2);
    try {
      await peer.opened();
      peer.send("batch", new Uint8Array([0, 0, 0, 9, 1, 2]));
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "error"), 3000);
      const error = peer.frames.find((f) => f.headers?.get("Micro-Frame") === "error")!;
      expect(error.headers!.get("Micro-Error-Code")).toBe("invalid_argument");
      expect(error.headers!.get("Nats-Service-Error")).toContain("malformed batch frame");
    } finally {
      peer.close();
    }
  });

  it("a batch holding more messages than the credit fails the stream with resource_exhausted", async () => {
    const peer = rawOpen(1_000_000, 2);
    try {
      await peer.opened();
      // The server's window is 128 messages: 129 empty ones in one batch are over it.
      peer.send("batch", new Uint8Array(4 * 129));
      await until(() => peer.frames.some((f) => f.headers?.get("Micro-Frame") === "error"), 3000);
      const error = peer.frames.find((f) => f.headers?.get("Micro-Frame") === "error")!;
      expect(error.headers!.get("Micro-Error-Code")).toBe("resource_exhausted");
    } finally {
      peer.close();
    }
  });
});

describe("a buggy server", () => {
  it("an accept announcing a window over the maximum gives the client no more than the maximum credit", async () => {
    // A hand-written server on raw NATS: accepts with a window of 10^9 and never grants credit.
    let received = 0;
    const server = rawStreamServer(conn.nc, "micro.srv.greedy.>", { "Micro-Stream-Window": "1000000000" }, (msg) => void (msg.headers === undefined && received++));
    try {
      const c = createClient(Counter, conn.transport, { service: "greedy" });
      let sent = 0;
      async function* requests() {
        for (;;) {
          sent++;
          yield { value: 1 };
        }
      }
      const controller = new AbortController();
      const outcome = c.sum(requests(), { signal: controller.signal, heartbeatMs: 5000 }).catch(() => undefined);
      await until(() => sent > 65_536, 10_000).catch(() => undefined);
      await Bun.sleep(300);
      expect(sent).toBeLessThanOrEqual(65_536 + 2);
      controller.abort();
      await outcome;
    } finally {
      server.stop();
    }
  });
});
