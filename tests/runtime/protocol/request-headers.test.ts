import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { headers, type Msg } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import type { NatsServerProcess } from "../../../runtime/nats/mod.ts";
import { MsgRequestHeaders } from "../../../runtime/protocol/mod.ts";
import { startTestNats } from "../../support/nats.ts";

let nats: NatsServerProcess;
beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(() => nats.stop());

async function roundTrip(send: (subject: string, publish: (data: string, h?: ReturnType<typeof headers>) => void) => void): Promise<Msg> {
  const nc = await connect({ servers: nats.url });
  const got = new Promise<Msg>((resolve) => nc.subscribe("hdr.test", { max: 1, callback: (_e, m) => resolve(m) }));
  send("hdr.test", (data, h) => nc.publish("hdr.test", data, h ? { headers: h } : undefined));
  const msg = await got;
  await nc.close();
  return msg;
}

describe("reading request headers without parsing them all", () => {
  it("finds exact header values among several, like a full parse", async () => {
    const h = headers();
    h.set("Micro-Meta-Timeout-Note", "not this");
    h.set("Micro-Timeout", " 2500 ");
    h.set("Content-Type", "application/json; charset=utf-8");
    const msg = await roundTrip((_s, publish) => publish("{}", h));
    const fast = new MsgRequestHeaders(msg);
    expect(fast.get("Micro-Timeout")).toBe("2500");
    expect(fast.get("Content-Type")).toBe("application/json; charset=utf-8");
    expect(fast.get("Micro-From")).toBeUndefined();
    expect(fast.all()?.get("Micro-Meta-Timeout-Note")).toBe("not this");
  });

  it("answers undefined for a message without headers", async () => {
    const msg = await roundTrip((_s, publish) => publish("{}"));
    expect(new MsgRequestHeaders(msg).get("Micro-Timeout")).toBeUndefined();
    expect(new MsgRequestHeaders(msg).all()).toBeUndefined();
  });

  it("falls back to the parsed headers when the raw bytes are not reachable", () => {
    const h = headers();
    h.set("Micro-Timeout", "10");
    const opaque = { headers: h, data: new Uint8Array() } as unknown as Msg;
    expect(new MsgRequestHeaders(opaque).get("Micro-Timeout")).toBe("10");
    expect(new MsgRequestHeaders(opaque).get("Content-Type")).toBeUndefined();
  });
});
