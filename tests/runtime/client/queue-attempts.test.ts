/**
 * Calls without discovery go to the service's queue subject; a call safe to repeat with an
 * `attemptTimeoutMs` is sent again when a send gets no reply in that time (its request or
 * reply was lost with a NATS server that died, or its node hangs), and any other call is not.
 */
import { describe, expect, it } from "bun:test";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createClient, defineService, MicroError, startService } from "../../../runtime/mod.ts";
import { withNats } from "../../support/nats.ts";

const { conn, teardown } = withNats();

/** A greeter whose first call never answers (a lost send), the others at once. */
async function firstCallLost(name: string): Promise<{ calls: () => number }> {
  let calls = 0;
  let release: () => void = () => undefined;
  const lost = new Promise<void>((resolve) => (release = resolve));
  const instance = await startService(defineService(Greeter, { name }, {
    async sayHello(request) {
      if (++calls === 1) await lost;
      return { message: `Hello ${request.name}` };
    },
  }), { connection: conn.nc, transport: conn.transport, drainTimeoutMs: 100 });
  teardown(async () => {
    release();
    await instance.stop();
  });
  return { calls: () => calls };
}

describe("calls to the queue subject with an attempt limit", () => {
  it("sends a safe call again after its attempt timed out, and answers it", async () => {
    const service = await firstCallLost("attempts-safe");
    const client = createClient(Greeter, conn.transport, { service: "attempts-safe", timeoutMs: 5000 });
    const started = Date.now();
    const reply = await client.sayHello({ name: "Ada" }, { idempotent: true, attemptTimeoutMs: 300 });
    expect(reply.message).toBe("Hello Ada");
    expect(service.calls()).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("never sends a call that is not safe to repeat again", async () => {
    const service = await firstCallLost("attempts-unsafe");
    const client = createClient(Greeter, conn.transport, { service: "attempts-unsafe", timeoutMs: 1000 });
    const error = await client.sayHello({ name: "Ada" }, { idempotent: false, attemptTimeoutMs: 300 }).catch((e) => MicroError.from(e));
    expect((error as MicroError).code).toBe("deadline_exceeded");
    expect(service.calls()).toBe(1);
  });

  it("sends a safe call to a slow service at most four times, the last one waiting for the rest of the deadline", async () => {
    let calls = 0;
    // Slow, not dead: every call takes 1 s, ten times the attempt limit.
    const instance = await startService(defineService(Greeter, { name: "attempts-slow" }, {
      async sayHello(request) {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        return { message: `Hello ${request.name}` };
      },
    }), { connection: conn.nc, transport: conn.transport, drainTimeoutMs: 2000 });
    teardown(() => instance.stop());
    const client = createClient(Greeter, conn.transport, { service: "attempts-slow", timeoutMs: 5000 });
    const reply = await client.sayHello({ name: "Ada" }, { idempotent: true, attemptTimeoutMs: 100 });
    expect(reply.message).toBe("Hello Ada");
    // Not a fresh copy every 100 ms until the deadline (50 of them) piling onto a slow service.
    expect(calls).toBe(4);
  }, 15_000);
});
