import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createInbox, headers as natsHeaders, type Msg } from "@nats-io/nats-core";
import { Counter, CountRequestSchema } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, defineService, type ServiceInstance, startService } from "../../../runtime/mod.ts";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { startTestNats } from "../../support/nats.ts";
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
  instances.push(await startService(endless, options), await startService(slowly, options));
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

/** A hand-written stream client on raw NATS: opens `Counter.Count` and records every frame. */
function rawOpen(to: number, window: number) {
  const inbox = createInbox();
  const frames: Msg[] = [];
  let server: string | undefined;
  const sub = conn.nc.subscribe(inbox, {
    callback: (_e, msg) => {
      frames.push(msg);
      if (msg.headers?.get("Micro-Frame") === "open") server = msg.reply;
    },
  });
  const h = natsHeaders();
  h.set("Micro-Stream", "1");
  h.set("Micro-Stream-Window", String(window));
  h.set("Micro-Stream-Heartbeat", "1000");
  h.set("Content-Type", "application/proto");
  conn.nc.publish("micro.srv.channel-endless.Counter.Count", new Uint8Array(0), { reply: inbox, headers: h });
  return {
    frames,
    data: () => frames.filter((f) => f.headers === undefined).length,
    opened: () => until(() => server !== undefined, 3000),
    send(kind: string | undefined, data = new Uint8Array(0), extra: Record<string, string> = {}) {
      const fh = kind === undefined ? undefined : natsHeaders();
      if (fh !== undefined) {
        fh.set("Micro-Frame", kind!);
        for (const [k, v] of Object.entries(extra)) fh.set(k, v);
      }
      conn.nc.publish(server!, data, fh === undefined ? undefined : { headers: fh });
    },
    request: toBinary(CountRequestSchema, create(CountRequestSchema, { to })),
    close: () => sub.unsubscribe(),
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
