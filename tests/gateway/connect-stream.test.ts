import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { createGateway } from "../../gateway/app.ts";
import { readEnvelopes } from "../../gateway/connect-stream.ts";
import { Counter } from "../../gen/counter/v1/counter_pb.ts";
import { defineService, MicroError, type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { defaultWindow } from "../../runtime/stream/protocol.ts";
import counter from "../../services/counter.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";
import { until } from "../support/wait.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
const instances: ServiceInstance[] = [];
let fetchGateway: typeof fetch;
/** A gateway on namespace "probe", where "counter" is the instrumented service below. */
let fetchProbe: typeof fetch;
const seen = { produced: 0, aborted: 0 };

const instrumented = defineService(Counter, { name: "counter" }, {
  async *count(request, ctx) {
    ctx.signal.addEventListener("abort", () => seen.aborted++);
    for (let n = 1; n <= request.to; n++) {
      if (request.payloadBytes > 0 && n > request.payloadBytes) throw new MicroError("not_found", `no number ${n}`);
      seen.produced++;
      yield { n };
    }
  },
});

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instances.push(await startService(counter, { connection: conn.nc, transport: conn.transport }));
  instances.push(await startService(instrumented, { connection: conn.nc, transport: conn.transport, namespace: "probe" }));
  const app = createGateway({ transport: conn.transport });
  fetchGateway = ((input: RequestInfo | URL, init?: RequestInit) => app.fetch(new Request(input, init))) as typeof fetch;
  const probe = createGateway({ transport: conn.transport, namespace: "probe" });
  fetchProbe = ((input: RequestInfo | URL, init?: RequestInit) => probe.fetch(new Request(input, init))) as typeof fetch;
});
afterAll(async () => {
  for (const i of instances) await i.stop();
  await conn.close();
  await nats.stop();
});

function connectClient(useBinaryFormat: boolean) {
  return createClient(Counter, createConnectTransport({ baseUrl: "http://gw", fetch: fetchGateway, useBinaryFormat }));
}

describe("Connect server streaming through the gateway", () => {
  for (const useBinaryFormat of [false, true]) {
    it(`streams to an unchanged @connectrpc/connect client (${useBinaryFormat ? "connect+proto" : "connect+json"})`, async () => {
      const got: number[] = [];
      for await (const r of connectClient(useBinaryFormat).count({ to: 300 })) got.push(r.n);
      expect(got).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    });
  }

  it("ends with the handler's error after the messages already sent", async () => {
    const client = createClient(Counter, createConnectTransport({ baseUrl: "http://gw", fetch: fetchProbe }));
    const got: number[] = [];
    let error: ConnectError | undefined;
    try {
      for await (const r of client.count({ to: 10, payloadBytes: 2 })) got.push(r.n);
    } catch (e) {
      error = ConnectError.from(e);
    }
    expect(got).toEqual([1, 2]);
    expect([error?.code, error?.rawMessage]).toEqual([Code.NotFound, "no number 3"]);
  });

  it("reads from the service only as fast as the HTTP client reads", async () => {
    seen.produced = 0;
    const client = createClient(Counter, createConnectTransport({ baseUrl: "http://gw", fetch: fetchProbe }));
    let consumed = 0;
    let maxAhead = 0;
    // More than the gateway's window, so the service must wait for the HTTP reader.
    const total = defaultWindow + 400;
    for await (const _ of client.count({ to: total })) {
      consumed++;
      maxAhead = Math.max(maxAhead, seen.produced - consumed);
      if (consumed % 4 === 0) await Bun.sleep(5);
    }
    expect(consumed).toBe(total);
    // The gateway's end of the stream buffers `defaultWindow` messages; the HTTP body adds a few at most.
    expect(maxAhead).toBeLessThan(defaultWindow + 72);
  });

  it("a client aborting its signal cancels the handler", async () => {
    seen.aborted = 0;
    const client = createClient(Counter, createConnectTransport({ baseUrl: "http://gw", fetch: fetchProbe }));
    // connect-es cancels through the signal only: a bare `break` leaves the response unread.
    const controller = new AbortController();
    for await (const r of client.count({ to: 1_000_000 }, { signal: controller.signal })) {
      if (r.n === 3) {
        controller.abort();
        break;
      }
    }
    await until(() => seen.aborted === 1, 3000);
  });

  it("serves a client stream sent as one body of envelopes (Connect over HTTP/1.1)", async () => {
    const body = new Uint8Array([...[1, 2, 3].flatMap((value) => [...envelope(new TextEncoder().encode(JSON.stringify({ value })))])]);
    const response = await fetchGateway("http://gw/counter.v1.Counter/Sum", {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body,
    });
    expect(response.headers.get("content-type")).toBe("application/connect+json");
    const [reply, end] = responseEnvelopes(new Uint8Array(await response.arrayBuffer()));
    expect(JSON.parse(new TextDecoder().decode(reply))).toEqual({ sum: 6, count: 3 });
    expect(new TextDecoder().decode(end)).toBe("{}");
  });

  it("refuses compressed and truncated envelopes with a clear error", async () => {
    expect(() => readEnvelopes(new Uint8Array([0, 0, 0]))).toThrow("truncated Connect envelope at byte 0");
    expect(() => readEnvelopes(envelope(new Uint8Array([1]), 1))).toThrow("compressed Connect messages are not supported (send them uncompressed)");
    expect(() => readEnvelopes(envelope(new Uint8Array(4)).subarray(0, 7))).toThrow("a Connect envelope claims 4 bytes, but only 2 follow");
  });

  it("refuses request envelopes with flags a client does not send, naming the likely cause", async () => {
    // End-stream (0x02) is the server's; a length shorter than its data puts the next header in the data.
    const endStream = envelope(new TextEncoder().encode("{}"), 2);
    expect(() => readEnvelopes(endStream)).toThrow("the Connect envelope at byte 0 has flags 0x02");
    const data = new TextEncoder().encode('{"text":"hello"}');
    const lying = envelope(data);
    new DataView(lying.buffer).setUint32(1, 2); // says 2 bytes: the next "envelope" starts at `"text"`
    expect(() => readEnvelopes(lying)).toThrow(`the Connect envelope at byte 7 has flags 0x${data[2]!.toString(16)}: a request envelope has 0 (or 1, compressed); does the length of the one before match its data?`);
    const response = await fetchGateway("http://gw/counter.v1.Counter/Echo", { method: "POST", headers: { "content-type": "application/connect+json" }, body: endStream });
    const [end] = responseEnvelopes(new Uint8Array(await response.arrayBuffer()));
    expect(JSON.parse(new TextDecoder().decode(end)).error.code).toBe("invalid_argument");
  });

  it("reports a service nobody serves as unimplemented", async () => {
    const response = await fetchGateway("http://gw/nobody.v1.Nobody/Watch", {
      method: "POST",
      headers: { "content-type": "application/connect+json" },
      body: envelope(new TextEncoder().encode("{}")),
    });
    expect(response.status).toBe(200);
    const [end] = responseEnvelopes(new Uint8Array(await response.arrayBuffer()));
    expect(JSON.parse(new TextDecoder().decode(end))).toEqual({ error: { code: "unimplemented", message: "no service serves nobody.v1.Nobody/Watch" } });
  });
});

/** The envelopes of a Connect response (data, then the end-stream one), read as a client would. */
function responseEnvelopes(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 5 <= body.length;) {
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

function envelope(data: Uint8Array, flags = 0): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}
