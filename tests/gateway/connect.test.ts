import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { serviceNameOf } from "../../gateway/connect.ts";
import { Greeter } from "../../gen/greeter/v1/greeter_pb.ts";
import { type ServiceInstance, startService } from "../../runtime/mod.ts";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import greeter from "../../services/greeter.ts";
import { startTestGateway } from "../support/gateway.ts";
import { startTestNats } from "../support/nats.ts";
import { openTestConnection } from "../support/rpc.ts";

let nats: NatsServerProcess;
let conn: Awaited<ReturnType<typeof openTestConnection>>;
let instance: ServiceInstance;
let gateway: Awaited<ReturnType<typeof startTestGateway>>;

beforeAll(async () => {
  nats = await startTestNats();
  conn = await openTestConnection(nats.url);
  instance = await startService(greeter, { connection: conn.nc, transport: conn.transport });
  gateway = await startTestGateway({ transport: conn.transport });
});
afterAll(async () => {
  await gateway.close();
  await instance.stop();
  await conn.close();
  await nats.stop();
});

async function connectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe("Connect protocol", () => {
  for (const useBinaryFormat of [false, true]) {
    it(`serves an unchanged @connectrpc/connect client (${useBinaryFormat ? "application/proto" : "application/json"})`, async () => {
      const client = createClient(Greeter, createConnectTransport({ baseUrl: gateway.url, useBinaryFormat }));
      expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
      const invalid = await connectError(client.sayHello({ name: "" }));
      expect([invalid.code, invalid.rawMessage]).toEqual([Code.InvalidArgument, "name must not be empty"]);
      expect((await connectError(client.sayGoodbye({ name: "x" }))).code).toBe(Code.Unimplemented);
    });
  }

  it("refuses a Connect-Timeout-Ms that is not plain digits (unary and streaming), as Connect's invalid_argument", async () => {
    const send = (path: string, contentType: string, timeout: string) =>
      fetch(`${gateway.url}${path}`, { method: "POST", headers: { "content-type": contentType, "connect-protocol-version": "1", "connect-timeout-ms": timeout }, body: contentType === "application/json" ? '{"name":"x"}' : new Uint8Array(5) });
    for (const timeout of ["0x10", "1e3", "+5", "1.5", "0", "12345678901"]) {
      const unary = await send("/greeter.v1.Greeter/SayHello", "application/json", timeout);
      expect([timeout, unary.status, ((await unary.json()) as { code: string }).code]).toEqual([timeout, 400, "invalid_argument"]);
      const stream = await send("/greeter.v1.Greeter/SayHello", "application/connect+json", timeout);
      expect([timeout, await stream.text()]).toEqual([timeout, expect.stringContaining('"code":"invalid_argument"')]);
    }
    const fine = await send("/greeter.v1.Greeter/SayHello", "application/json", "5000");
    expect(await fine.json()).toEqual({ message: "Hello x" });
  });

  it("maps proto service names to jetmicro service names", () => {
    expect(serviceNameOf("greeter.v1.Greeter")).toBe("greeter");
    expect(serviceNameOf("acme.UserProfile")).toBe("user-profile");
  });
});
