import { afterEach, describe, expect, it } from "bun:test";
import { Cart } from "../../gen/cart/v1/cart_pb.ts";
import { createClient, createMemoryTransport, type Transport } from "../../runtime/mod.ts";
import cart from "../../services/cart.ts";
import { rejection } from "../support/rpc.ts";

let transport: Transport;
afterEach(() => transport?.close());

function cartClient() {
  transport = createMemoryTransport([cart]);
  return createClient(Cart, transport, { timeoutMs: 5000 });
}

describe("cart actor in memory (no nats-server)", () => {
  it("keeps a cart per cart_id", async () => {
    const client = cartClient();
    await client.addItem({ cartId: "c1", sku: "apple", quantity: 2 });
    await client.addItem({ cartId: "c2", sku: "pear", quantity: 1 });
    const view = await client.addItem({ cartId: "c1", sku: "apple", quantity: 3 });
    expect(view.lines.map((l) => [l.sku, l.quantity])).toEqual([["apple", 5]]);
    expect(view.version).toBe(2n);
    expect((await client.removeItem({ cartId: "c1", sku: "apple", quantity: 0 })).lines).toEqual([]);
    expect((await client.getCart({ cartId: "c2" })).lines.map((l) => l.sku)).toEqual(["pear"]);
  });

  it("runs one command of a key at a time: concurrent adds all count", async () => {
    const client = cartClient();
    await Promise.all(Array.from({ length: 50 }, () => client.addItem({ cartId: "busy", sku: "tea", quantity: 1 })));
    const view = await client.getCart({ cartId: "busy" });
    expect(view.lines.map((l) => [l.sku, l.quantity])).toEqual([["tea", 50]]);
    expect(view.version).toBe(50n);
  });

  it("rejects a handler's error without changing the state", async () => {
    const client = cartClient();
    const error = await rejection(client.addItem({ cartId: "c3", sku: "", quantity: 1 }));
    expect([error.code, error.detail]).toEqual(["invalid_argument", "sku"]);
    expect((await client.getCart({ cartId: "c3" })).version).toBe(0n);
  });

  it("refuses a missing or malformed key, 5,000 characters included, as invalid_argument naming the field", async () => {
    const client = cartClient();
    for (const bad of ["", "c.1", "*", "x".repeat(5000)]) {
      const error = await rejection(client.addItem({ cartId: bad, sku: "apple", quantity: 1 }));
      expect([error.code, error.detail]).toEqual(["invalid_argument", "cart_id"]);
    }
    expect((await client.addItem({ cartId: "fine", sku: "apple", quantity: 1 })).version).toBe(1n);
  });

  it("applies a retried command with the same idempotency key once", async () => {
    const client = cartClient();
    const metadata = { "idempotency-key": "order-1" };
    const first = await client.addItem({ cartId: "c4", sku: "fig", quantity: 1 }, { metadata });
    const retry = await client.addItem({ cartId: "c4", sku: "fig", quantity: 1 }, { metadata });
    expect(retry.version).toBe(first.version);
    expect((await client.getCart({ cartId: "c4" })).lines.map((l) => l.quantity)).toEqual([1]);
  });
});
