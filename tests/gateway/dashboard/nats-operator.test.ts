import { describe, expect, it } from "bun:test";
import type { NatsConnection } from "@nats-io/nats-core";
import { createNatsOperator } from "../../../gateway/dashboard/nats-operator.ts";
import { createMemoryRegistry, type DeadLetter, type JetStreamBroker } from "../../../runtime/mod.ts";

describe("the NATS operator source", () => {
  it("finds one dead letter by its sequence without holding every letter before it in memory", async () => {
    const total = 40;
    const earlier: WeakRef<DeadLetter>[] = [];
    let heldAtOnce = 0;
    // Only deadLetters is read by the lookup: the rest of the broker is never called.
    const broker = {
      async *deadLetters(_service: string) {
        for (let seq = 1; seq <= total; seq++) {
          // Letters handed out before the previous one must be collectable by now.
          Bun.gc(true);
          heldAtOnce = Math.max(heldAtOnce, earlier.slice(0, -1).filter((r) => r.deref() !== undefined).length);
          const letter: DeadLetter = {
            id: `e${seq}`, topic: "orders.created", source: "", sourceVersion: "", time: seq, user: "", contentType: "application/json",
            traceparent: "", data: new Uint8Array(64 * 1024), sequence: seq, deliveries: 3, error: "boom", deadLetterSequence: seq,
          };
          earlier.push(new WeakRef(letter));
          yield letter;
        }
      },
    } as unknown as JetStreamBroker;
    const registry = createMemoryRegistry();
    const operator = createNatsOperator({ nc: {} as NatsConnection, namespace: "micro", registry, broker });
    const found = await operator.deadLetter("orders", total);
    expect(found?.deadLetterSequence).toBe(total);
    // Not every one is freed at once (the collector may see a few on the stack), but never all of them.
    expect(heldAtOnce).toBeLessThan(8);
    expect(await operator.deadLetter("orders", total + 5)).toBeUndefined();
    await registry.close();
  });
});
