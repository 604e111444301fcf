import { describe, expect, it } from "bun:test";
import { Cart } from "../../../gen/cart/v1/cart_pb.ts";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { defineActor, isActorDefinition, isServiceDefinition, MicroError } from "../../../runtime/mod.ts";
import { requestKey, shardOf } from "../../../runtime/actor/key.ts";
import { ownerOf } from "../../../runtime/actor/placement.ts";

function thrown(run: () => unknown): MicroError {
  try {
    run();
  } catch (error) {
    return error as MicroError;
  }
  throw new Error("expected a throw");
}

describe("defineActor", () => {
  it("takes the key by proto or local name and stays a service the runner can load", () => {
    for (const key of ["cart_id", "cartId"]) {
      const d = defineActor(Cart, { key, initialState: () => ({}) }, { getCart: (s) => ({ reply: {}, state: s }) });
      expect(d.actor.keyField).toBe("cart_id");
      expect(d.actor.keyLocalName).toBe("cartId");
      expect(isServiceDefinition(d)).toBe(true);
      expect(isActorDefinition(d)).toBe(true);
      expect(d.metadata["actor.key"]).toBe("cart_id");
      expect(d.endpoints.find((e) => e.name === "Cart.AddItem")!.handler).toBeUndefined();
    }
  });

  it("refuses a key that some request lacks, naming the request", () => {
    const error = thrown(() => defineActor(Greeter, { key: "cart_id", initialState: () => ({}) }, {}));
    expect(error.code).toBe("invalid_argument");
    expect(error.message).toContain("greeter.v1.SayHelloRequest");
  });

  it("refuses bad shards, a bad passivation time and unknown methods", () => {
    expect(thrown(() => defineActor(Cart, { key: "cart_id", initialState: () => 0, shards: 0 }, {})).message).toContain("shards");
    expect(thrown(() => defineActor(Cart, { key: "cart_id", initialState: () => 0, passivateAfterMs: -1 }, {})).message).toContain("passivateAfterMs");
    expect(thrown(() => defineActor(Cart, { key: "cart_id", initialState: () => 0 }, { nope: () => ({ reply: {} }) } as never)).message).toContain("nope");
    expect(thrown(() => defineActor(Cart, { key: "cart_id", initialState: () => 0, observers: [{ failed: 1 } as never] }, {})).message).toContain("each observer must be an object");
  });
});

describe("actor keys and placement", () => {
  it("reads the key or names the field that is missing or malformed", () => {
    expect(requestKey({ cartId: "c-1_x=" }, "cartId", "cart_id")).toBe("c-1_x=");
    expect(thrown(() => requestKey({ cartId: "" }, "cartId", "cart_id")).detail).toBe("cart_id");
    expect(thrown(() => requestKey({ cartId: "a>b" }, "cartId", "cart_id")).message).toContain("not a valid key");
  });

  it("maps a key to the same shard everywhere and spreads shards over nodes", () => {
    expect(shardOf("c1", 16)).toBe(shardOf("c1", 16));
    const nodes = ["cart-a1", "cart-a2", "cart-a3"];
    const owners = Array.from({ length: 64 }, (_, s) => ownerOf(s, nodes));
    for (const node of nodes) expect(owners.filter((o) => o === node).length).toBeGreaterThan(10);
    // A node leaving moves only its own shards.
    const after = Array.from({ length: 64 }, (_, s) => ownerOf(s, nodes.slice(0, 2)));
    for (let s = 0; s < 64; s++) if (owners[s] !== "cart-a3") expect(after[s]).toBe(owners[s]);
  });
});
