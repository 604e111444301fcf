import { describe, expect, it } from "bun:test";
import { Counter } from "../../../gen/counter/v1/counter_pb.ts";
import { createClient, createMemoryTransport, defineService, MicroError } from "../../../runtime/mod.ts";
import counter from "../../../services/counter.ts";
import { rejection } from "../../support/rpc.ts";
import { until } from "../../support/wait.ts";

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

describe("streams on the memory transport (no NATS)", () => {
  it("runs each stream kind of a handler module", async () => {
    const transport = createMemoryTransport([counter]);
    const c = createClient(Counter, transport);
    const counted: number[] = [];
    for await (const r of c.count({ to: 300 }, { window: 8 })) counted.push(r.n);
    expect(counted).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect((await c.sum(from([{ value: 2 }, { value: 3 }]))).sum).toBe(5);
    const echoed: string[] = [];
    for await (const r of c.echo(from([{ text: "a" }, { text: "b" }]))) echoed.push(`${r.text}${r.seq}`);
    expect(echoed).toEqual(["a1", "b2"]);
    await transport.close();
  });

  it("delivers handler errors after the messages sent, and cancels handlers on break", async () => {
    let aborted = false;
    const failing = defineService(Counter, { name: "counter" }, {
      async *count(request, ctx) {
        ctx.signal.addEventListener("abort", () => (aborted = true));
        for (let n = 1; ; n++) {
          if (n > request.to) throw new MicroError("out_of_range", `past ${request.to}`);
          yield { n };
          await Bun.sleep(1);
        }
      },
    });
    const transport = createMemoryTransport([failing]);
    const c = createClient(Counter, transport);
    const got: number[] = [];
    const error = await rejection((async () => {
      for await (const r of c.count({ to: 2 })) got.push(r.n);
    })());
    expect(got).toEqual([1, 2]);
    expect([error.code, error.message]).toEqual(["out_of_range", "past 2"]);

    for await (const r of c.count({ to: 1000 })) if (r.n === 3) break;
    await until(() => aborted, 2000);
    await transport.close();
  });

  it("refuses what NATS would refuse: nobody serving, unimplemented, oversize messages", async () => {
    const transport = createMemoryTransport([defineService(Counter, { name: "partial" }, {})]);
    const absent = await rejection(createClient(Counter, transport).sum(from([{ value: 1 }])));
    expect([absent.code, absent.message]).toEqual(["unavailable", "no service is serving Counter.Sum"]);
    const unimplemented = await rejection(createClient(Counter, transport, { service: "partial" }).sum(from([{ value: 1 }])));
    expect([unimplemented.code, unimplemented.message]).toEqual(["unimplemented", "Counter.Sum is not implemented by partial latest"]);
    await transport.close();

    const echo = createMemoryTransport([counter]);
    const huge = await rejection((async () => {
      for await (const _ of createClient(Counter, echo).echo(from([{ text: "x".repeat(2 * 1024 * 1024) }]))) void _;
    })());
    expect(huge.code).toBe("resource_exhausted");
    await echo.close();
  });
});
