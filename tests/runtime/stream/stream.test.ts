import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, defineService, MicroError, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import counter from "../../../services/counter.ts";
import { defaultWindow } from "../../../runtime/stream/protocol.ts";
import { startTestNats } from "../../support/nats.ts";
import { gate, openTestConnection, rejection } from "../../support/rpc.ts";
import { repoPath } from "../../support/service-dirs.ts";
import { spawnChild } from "../../support/subprocess.ts";
import { until } from "../../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];

/** What the instrumented service saw, per test. */
const seen = { produced: 0, consumed: 0, aborted: 0, abortReason: undefined as unknown };
const reset = () => Object.assign(seen, { produced: 0, consumed: 0, aborted: 0, abortReason: undefined });

const instrumented = defineService(Counter, { name: "instrumented" }, {
  async *count(request, ctx) {
    ctx.signal.addEventListener("abort", () => {
      seen.aborted++;
      seen.abortReason = ctx.signal.reason;
    });
    for (let n = 1; n <= request.to; n++) {
      // payload_bytes doubles as "fail after this many messages" here.
      if (request.payloadBytes > 0 && n > request.payloadBytes) throw new MicroError("not_found", `no number ${n}`, { detail: "n" });
      if (request.intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, request.intervalMs));
      seen.produced++;
      yield { n };
    }
  },
  async sum(requests) {
    let sum = 0;
    for await (const { value } of requests) {
      seen.consumed++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      sum += value;
      if (value < 0) return { sum, count: seen.consumed }; // answers early, leaving the rest unread
    }
    return { sum, count: seen.consumed };
  },
  async *echo(requests, ctx) {
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    for await (const { text } of requests) {
      if (text === "boom") throw new Error("echo exploded");
      if (text === "huge") yield { text: "x".repeat(2 * 1024 * 1024) };
      yield { text, seq: ++seen.consumed };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  const quiet = { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined };
  instances.push(await startService(counter, quiet), await startService(instrumented, quiet));
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

async function* from<T>(items: T[], gapMs = 0): AsyncGenerator<T> {
  for (const item of items) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    yield item;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Collects until the stream fails; returns what arrived and the error. */
async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: MicroError }> {
  const items: T[] = [];
  try {
    for await (const item of iterable) items.push(item);
  } catch (error) {
    return { items, error: error as MicroError };
  }
  throw new Error(`expected the stream to fail; got ${items.length} messages and a clean end`);
}

describe("stream kinds", () => {
  const client = () => createClient(Counter, conn.transport);

  it("server stream: for await reads every message in order, then ends", async () => {
    const got = await collect(client().count({ to: 500 }));
    expect(got.map((r) => r.n)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it("server stream with no messages ends at once", async () => {
    expect(await collect(client().count({ to: 0 }))).toEqual([]);
  });

  it("client stream: the handler reads every request and answers once", async () => {
    const values = Array.from({ length: 1000 }, (_, i) => ({ value: i }));
    const reply = await client().sum(from(values));
    expect([reply.sum, reply.count]).toEqual([499500, 1000]);
    expect((await client().sum(from([]))).count).toBe(0);
  });

  it("bidi: responses arrive while the client is still sending", async () => {
    const c = client();
    let sent = 0;
    async function* requests() {
      for (const text of ["a", "b", "c"]) {
        sent++;
        yield { text };
        // The next request waits until its answer is back: proof the two directions interleave.
        await until(() => answered >= sent, 5000);
      }
    }
    let answered = 0;
    const got: string[] = [];
    for await (const r of c.echo(requests())) {
      answered++;
      got.push(`${r.text}${r.seq}`);
    }
    expect(got).toEqual(["a1", "b2", "c3"]);
  });

  it("streams to a named node", async () => {
    const c = createClient(Counter, conn.transport);
    const got = await collect(c.count({ to: 3 }, { node: instances[0]!.nodeId }));
    expect(got.map((r) => r.n)).toEqual([1, 2, 3]);
  });
});

describe("flow control", () => {
  it("a slow consumer pauses the producer: produced stays within the window of consumed", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    const window = 8;
    let consumed = 0;
    let maxAhead = 0;
    for await (const r of c.count({ to: 60 }, { window })) {
      consumed++;
      expect(r.n).toBe(consumed);
      await new Promise((resolve) => setTimeout(resolve, 10));
      maxAhead = Math.max(maxAhead, seen.produced - consumed);
    }
    expect(consumed).toBe(60);
    // The client buffers at most `window`; one more may wait in the generator for credit.
    expect(maxAhead).toBeLessThanOrEqual(window + 1);
  });

  it("a slow handler pauses the client's requests (client stream)", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    let produced = 0;
    let maxAhead = 0;
    async function* requests() {
      for (let i = 0; i < total; i++) {
        maxAhead = Math.max(maxAhead, produced - seen.consumed);
        produced++;
        yield { value: 1 };
      }
    }
    // More than the server's window, so the client must wait for the handler.
    const total = defaultWindow + 300;
    const reply = await c.sum(requests());
    expect(reply.sum).toBe(total);
    // The server's window is `defaultWindow` frames: the client never runs further ahead than that.
    expect(maxAhead).toBeGreaterThan(16);
    expect(maxAhead).toBeLessThanOrEqual(defaultWindow + 2);
  });

  it("refuses a window out of range with a clear error", async () => {
    const c = createClient(Counter, conn.transport);
    const error = await rejection(collect(c.count({ to: 1 }, { window: 0 })));
    expect([error.code, error.message]).toEqual(["invalid_argument", "stream window must be an integer from 1 to 65536, got 0"]);
  });
});

describe("end of stream, errors and cancellation", () => {
  it("a handler error reaches the client as MicroError after the messages already sent", async () => {
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    const { items, error } = await collectUntilError(c.count({ to: 10, payloadBytes: 3 }));
    expect(items.map((r) => r.n)).toEqual([1, 2, 3]);
    expect(error).toBeInstanceOf(MicroError);
    expect([error.code, error.message, error.detail]).toEqual(["not_found", "no number 4", "n"]);
    expect(error.serviceId).toBe(instances[1]!.nodeId);
  });

  it("a bug in a bidi handler ends the stream with internal, keeping earlier answers", async () => {
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    const { items, error } = await collectUntilError(c.echo(from([{ text: "a" }, { text: "boom" }, { text: "c" }])));
    expect(items.map((r) => r.text)).toEqual(["a"]);
    expect([error.code, error.message]).toEqual(["internal", "echo exploded"]);
  });

  it("breaking out of for await fires the handler's signal", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    for await (const r of c.count({ to: 1_000_000, intervalMs: 5 })) if (r.n === 3) break;
    await until(() => seen.aborted === 1, 3000);
    expect(MicroError.from(seen.abortReason).code).toBe("canceled");
    const producedAtCancel = seen.produced;
    await Bun.sleep(100);
    expect(seen.produced).toBeLessThanOrEqual(producedAtCancel + 1);
  });

  it("aborting the signal rejects the stream with canceled and stops the handler", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    const controller = new AbortController();
    const { items, error } = await collectUntilError((async function* () {
      for await (const r of c.count({ to: 1_000_000, intervalMs: 5 }, { signal: controller.signal })) {
        if (r.n === 2) controller.abort();
        yield r;
      }
    })());
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(error.code).toBe("canceled");
    await until(() => seen.aborted === 1, 3000);
  });

  it("the server stopping mid-stream fails the client with unavailable", async () => {
    const nc = conn.nc;
    const stoppable = await startService(defineService(Counter, { name: "stoppable" }, {
      async *count(_request, ctx) {
        for (let n = 1; ; n++) {
          yield { n };
          await new Promise((resolve) => setTimeout(resolve, 10));
          if (ctx.signal.aborted) return;
        }
      },
    }), { connection: nc, transport: conn.transport, drainTimeoutMs: 100 });
    const c = createClient(Counter, conn.transport, { service: "stoppable" });
    const received = gate();
    const outcome = collectUntilError((async function* () {
      for await (const r of c.count({})) {
        received.open();
        yield r;
      }
    })());
    await received.opened;
    await stoppable.stop();
    const { items, error } = await outcome;
    expect(items.length).toBeGreaterThan(0);
    expect([error.code, error.message]).toEqual(["unavailable", "stoppable stopped before the stream Counter.Count finished"]);
  });

  it("a handler answering early stops the client's requests (client stream)", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    let produced = 0;
    async function* requests() {
      for (let i = 0; i < 100_000; i++) {
        produced++;
        yield { value: i === 5 ? -100 : 1 };
      }
    }
    const reply = await c.sum(requests());
    expect(reply.sum).toBe(-95);
    await Bun.sleep(50);
    // The server's window of credit, and one more waiting in the generator: nothing past it.
    expect(produced).toBeLessThanOrEqual(defaultWindow + 8);
  });

  it("an error in the client's requests cancels the stream and rejects with it", async () => {
    reset();
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    async function* requests() {
      yield { text: "a" };
      await Bun.sleep(20);
      throw new MicroError("failed_precondition", "input broke");
    }
    const { error } = await collectUntilError(c.echo(requests()));
    expect([error.code, error.message]).toEqual(["failed_precondition", "input broke"]);
    await until(() => seen.aborted === 1, 3000);
  });

  it("a client giving up while its open waits in the mailbox never leaves a handler running", async () => {
    const events: string[] = [];
    const single = await startService(defineService(Counter, { name: "single", mailbox: { concurrency: 1 } }, {
      async *count(request, ctx) {
        events.push(`start ${request.to}`);
        ctx.signal.addEventListener("abort", () => events.push(`abort ${request.to}`));
        while (!ctx.signal.aborted) {
          yield { n: request.to };
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      },
    }), { connection: conn.nc, transport: conn.transport });
    try {
      const c = createClient(Counter, conn.transport, { service: "single" });
      const first = c.count({ to: 1 })[Symbol.asyncIterator]();
      await first.next(); // holds the only handler slot
      const controller = new AbortController();
      const second = rejection(collect(c.count({ to: 2 }, { signal: controller.signal })));
      await Bun.sleep(100);
      controller.abort();
      expect((await second).code).toBe("canceled");
      await first.return!();
      // The queued open now runs; its open frame finds no listener, so the stream ends before
      // the handler starts, and the slot is free again at once (not after missed heartbeats).
      // (Both streams count as failed: the first was canceled by its client.)
      await until(() => single.stats().endpoints["Counter.Count"]!.errors === 2 && single.stats().running === 0, 1500);
      expect(single.stats().endpoints["Counter.Count"]!.lastError).toBe("canceled: Counter.Count: the peer is no longer listening");
      expect(events).toEqual(["start 1", "abort 1"]);
    } finally {
      await single.stop();
    }
  });

  it("open streams take at most mailbox.streams of the handler slots; more are refused, the rest stay free", async () => {
    const capped = await startService(defineService(Counter, { name: "capped", mailbox: { concurrency: 4, streams: 2 } }, {
      async *count(request, ctx) {
        while (!ctx.signal.aborted) {
          yield { n: request.to };
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
    }), { connection: conn.nc, transport: conn.transport, onHandlerError: () => undefined });
    try {
      const c = createClient(Counter, conn.transport, { service: "capped" });
      // Two streams opened and then never read again: each holds a handler slot.
      const held = [c.count({ to: 1 })[Symbol.asyncIterator](), c.count({ to: 2 })[Symbol.asyncIterator]()];
      for (const s of held) await s.next();
      const refused = await rejection(collect(c.count({ to: 3 })));
      expect([refused.code, refused.message]).toEqual(["resource_exhausted", "capped has 2 streams open, its most (mailbox.streams); retry later"]);
      // The other slots are free for calls and events.
      expect(capped.stats().running).toBe(2);
      await held[0]!.return!();
      await until(() => capped.stats().running === 1, 2000);
      const again = c.count({ to: 4 })[Symbol.asyncIterator]();
      expect((await again.next()).value).toEqual(expect.objectContaining({ n: 4 }));
      await again.return!();
      await held[1]!.return!();
    } finally {
      await capped.stop();
    }
  });

  it("mailbox.streams defaults to half the concurrency, and must lie within it", () => {
    const handlers = { count: async function* () {} };
    expect(defineService(Counter, { mailbox: { concurrency: 9 } }, handlers).mailbox.streams).toBe(4);
    expect(defineService(Counter, { mailbox: { concurrency: 1 } }, handlers).mailbox.streams).toBe(1);
    expect(() => defineService(Counter, { mailbox: { concurrency: 4, streams: 5 } }, handlers)).toThrow("mailbox.streams must be an integer >= 1 and <= 4, got 5");
  });

  it("a stream deadline fails both sides with deadline_exceeded", async () => {
    const c = createClient(Counter, conn.transport);
    const { items, error } = await collectUntilError(c.count({ to: 1000, intervalMs: 20 }, { timeoutMs: 200 }));
    expect(items.length).toBeGreaterThan(0);
    expect(error.code).toBe("deadline_exceeded");
  });

  it("an idle stream outlives many heartbeat intervals", async () => {
    const c = createClient(Counter, conn.transport);
    const got = await collect(c.count({ to: 2, intervalMs: 600 }, { heartbeatMs: 100 }));
    expect(got.map((r) => r.n)).toEqual([1, 2]);
  });
});

describe("refusals", () => {
  it("a message over the NATS max payload is refused with resource_exhausted, both ways", async () => {
    const c = createClient(Counter, conn.transport, { service: "instrumented" });
    const limit = conn.nc.info!.max_payload;
    const fromServer = await collectUntilError(c.echo(from([{ text: "a" }, { text: "huge" }])));
    expect(fromServer.items.map((r) => r.text)).toEqual(["a"]);
    expect(fromServer.error.code).toBe("resource_exhausted");
    expect(fromServer.error.message).toContain(`over the NATS max payload of ${limit}`);

    const fromClient = await collectUntilError(c.echo(from([{ text: "x".repeat(limit + 1) }])));
    expect(fromClient.error.code).toBe("resource_exhausted");
    expect(fromClient.error.message).toContain(`is ${limit + 5} bytes, over the NATS max payload of ${limit}`);
  });

  it("unknown services, unimplemented methods and unary calls to streams answer clearly", async () => {
    const nobody = createClient(Counter, conn.transport, { service: "nobody" });
    const absent = await rejection(collect(nobody.count({ to: 1 })));
    expect([absent.code, absent.message]).toEqual(["unavailable", "no service is serving Counter.Count"]);

    const partial = await startService(defineService(Counter, { name: "partial" }, {}), { connection: conn.nc, transport: conn.transport });
    try {
      const c = createClient(Counter, conn.transport, { service: "partial" });
      const unimplemented = await rejection(c.sum(from([{ value: 1 }])));
      expect([unimplemented.code, unimplemented.message]).toEqual(["unimplemented", "Counter.Sum is not implemented by partial latest"]);
    } finally {
      await partial.stop();
    }

    const reply = await conn.nc.request("micro.srv.counter.Counter.Count", new TextEncoder().encode("{}"));
    expect(reply.headers?.get("Micro-Error-Code")).toBe("failed_precondition");
    expect(reply.headers?.get("Nats-Service-Error")).toBe("Counter.Count is a server-streaming method: open it as a stream, not as a unary call");
  });

  it("requests that are not an AsyncIterable are refused before anything is sent", async () => {
    const c = createClient(Counter, conn.transport);
    const error = await rejection(c.sum([{ value: 1 }] as never));
    expect([error.code, error.message]).toEqual(["invalid_argument", "Counter.Sum streams its requests: pass an AsyncIterable (an async generator), got object"]);
  });
});

describe("vanished peers", () => {
  it("a client connection closing mid-stream fails the stream on both sides, not the process", async () => {
    reset();
    const own = await openTestConnection(nats.url);
    const c = createClient(Counter, own.transport, { service: "instrumented" });
    const received = gate();
    const outcome = collectUntilError((async function* () {
      for await (const r of c.count({ to: 1_000_000, intervalMs: 5 }, { heartbeatMs: 100 })) {
        received.open();
        yield r;
      }
    })());
    await received.opened;
    await own.nc.close();
    const { error } = await outcome;
    expect(error.code).toBe("unavailable");
    await until(() => seen.aborted === 1, 3000);
    await own.transport.close();
  });

  it("a killed server is detected by the client's heartbeat within a few seconds", async () => {
    const child = spawnChild([process.execPath, "tests/support/stream-peer.ts", "serve", nats.url]);
    try {
      await child.waitFor(/ready/);
      const c = createClient(Counter, conn.transport, { service: "endless" });
      const received = gate();
      const outcome = collectUntilError((async function* () {
        for await (const r of c.count({}, { heartbeatMs: 200 })) {
          received.open();
          yield r;
        }
      })());
      await received.opened;
      const killedAt = Date.now();
      child.process.kill("SIGKILL");
      const { items, error } = await outcome;
      expect(items.length).toBeGreaterThan(0);
      expect(error.code).toBe("unavailable");
      expect(error.message).toContain("heartbeat lost");
      expect(Date.now() - killedAt).toBeLessThan(3000);
    } finally {
      child.process.kill("SIGKILL");
      await child.exited;
    }
  });

  it("a killed client is detected by the server, which aborts the handler", async () => {
    reset();
    const child = spawnChild([process.execPath, "tests/support/stream-peer.ts", "client", nats.url, "instrumented"]);
    try {
      await child.waitFor(/got 3/);
      const killedAt = Date.now();
      child.process.kill("SIGKILL");
      await until(() => seen.aborted === 1, 5000);
      expect(Date.now() - killedAt).toBeLessThan(3000);
      expect(MicroError.from(seen.abortReason).message).toContain("heartbeat lost");
    } finally {
      child.process.kill("SIGKILL");
      await child.exited;
    }
  });
});

describe.concurrent("streams across runtimes", () => {
  const runtimes = [
    { name: "deno", command: [repoPath("node_modules/.bin/deno"), "run", "-A"] },
    { name: "node", command: [repoPath("node_modules/.bin/tsx")] },
  ];
  for (const runtime of runtimes) {
    it(`a service on ${runtime.name} streams to this Bun client, with flow control`, async () => {
      const name = `endless-${runtime.name}`;
      const child = spawnChild([...runtime.command, "tests/support/stream-peer.ts", "serve", nats.url, name]);
      try {
        await child.waitFor(/ready/, 20_000);
        const c = createClient(Counter, conn.transport, { service: name });
        const got: number[] = [];
        for await (const r of c.count({}, { window: 4 })) {
          got.push(r.n);
          if (got.length === 10) break;
        }
        expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      } finally {
        // SIGTERM, which tsx relays to its node process; SIGKILL would orphan that one.
        child.process.kill("SIGTERM");
        const timer = setTimeout(() => child.process.kill("SIGKILL"), 5000);
        await child.exited;
        clearTimeout(timer);
      }
    }, 30_000);
  }
});

