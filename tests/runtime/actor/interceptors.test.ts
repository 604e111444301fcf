import { afterEach, describe, expect, it } from "bun:test";
import { Cart, type AddItemRequest } from "../../../gen/cart/v1/cart_pb.ts";
import { type CallRequest, createClient, createMemoryTransport, defineActor, type Interceptor, MicroError, type Transport } from "../../../runtime/mod.ts";
import { rejection } from "../../support/rpc.ts";

let transport: Transport;
afterEach(() => transport?.close());

/** A counter actor on the Cart proto whose commands run inside `interceptors`. */
function countingCart(interceptors: readonly Interceptor[], name = "counting") {
  return defineActor(Cart, { name, key: "cart_id", initialState: () => ({ count: 0 }), interceptors }, {
    addItem: (state, request) => {
      const next = { count: state.count + request.quantity };
      return { reply: { cartId: request.cartId, version: BigInt(next.count) }, state: next };
    },
    getCart: (state, request) => ({ reply: { cartId: request.cartId, version: BigInt(state.count) } }),
  });
}

/** Refuses commands without `user` metadata; records what it saw. */
function requireUser(seen: CallRequest[]): Interceptor {
  return (next) => async function requireUser(request) {
    seen.push(request);
    if (!request.metadata.user) throw new MicroError("unauthenticated", "send metadata user");
    return await next(request);
  };
}

describe("interceptors around actor commands (in memory)", () => {
  it("see each command (kind actor, the endpoint, the decoded request, the caller's metadata) and can reject it", async () => {
    const seen: CallRequest[] = [];
    transport = createMemoryTransport([countingCart([requireUser(seen)])]);
    const client = createClient(Cart, transport, { service: "counting", timeoutMs: 5000 });
    const refused = await rejection(client.addItem({ cartId: "k1", quantity: 5 }));
    expect(refused.code).toBe("unauthenticated");
    const added = await client.addItem({ cartId: "k1", quantity: 2 }, { metadata: { user: "42" } });
    expect(added.version).toBe(2n);
    // The refused command left the state as it was.
    expect((await client.getCart({ cartId: "k1" }, { metadata: { user: "42" } })).version).toBe(2n);
    const request = seen[1]!;
    expect([request.kind, request.side, request.namespace, request.service, request.method]).toEqual(["actor", "server", "micro", "counting", "Cart.AddItem"]);
    expect(request.metadata).toEqual({ user: "42" });
    expect((request.message as AddItemRequest).quantity).toBe(2);
  });

  it("run first one outermost, and may change the request and the reply", async () => {
    const order: string[] = [];
    const doubler: Interceptor = (next) => async function doubler(request) {
      order.push("doubler");
      const message = request.message as AddItemRequest;
      return await next({ ...request, message: { ...message, quantity: message.quantity * 2 } });
    };
    const marker: Interceptor = (next) => async function marker(request) {
      order.push("marker");
      const response = await next(request);
      return { message: { ...(response.message as object), cartId: "marked" } };
    };
    transport = createMemoryTransport([countingCart([doubler, marker])]);
    const client = createClient(Cart, transport, { service: "counting", timeoutMs: 5000 });
    const reply = await client.addItem({ cartId: "k2", quantity: 3 });
    expect([reply.cartId, reply.version]).toEqual(["marked", 6n]);
    expect(order).toEqual(["doubler", "marker"]);
  });
});
