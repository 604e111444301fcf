import { Cart } from "../gen/cart/v1/cart_pb.ts";
import { defineActor, MicroError } from "../runtime/mod.ts";

/** A cart's state: its lines in the order they were first added, and how many commands changed it. */
interface CartState {
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  readonly version: number;
}

/**
 * The keyed-actor example: one actor per `cart_id`. Commands to one cart run one at a time in
 * mailbox order on one instance; its state survives crashes and moves with its shard.
 */
export default defineActor(Cart, { version: "1.0.0", key: "cart_id", initialState: (): CartState => ({ lines: [], version: 0 }) }, {
  addItem(state, request) {
    if (request.sku === "") throw new MicroError("invalid_argument", "sku must not be empty", { detail: "sku" });
    if (request.quantity < 1) throw new MicroError("invalid_argument", "quantity must be at least 1", { detail: "quantity" });
    const found = state.lines.some((line) => line.sku === request.sku);
    const lines = found
      ? state.lines.map((line) => (line.sku === request.sku ? { sku: line.sku, quantity: line.quantity + request.quantity } : line))
      : [...state.lines, { sku: request.sku, quantity: request.quantity }];
    const next = { lines, version: state.version + 1 };
    return { reply: view(request.cartId, next), state: next };
  },
  removeItem(state, request) {
    const lines = state.lines
      .map((line) => (line.sku !== request.sku ? line : { sku: line.sku, quantity: request.quantity === 0 ? 0 : Math.max(0, line.quantity - request.quantity) }))
      .filter((line) => line.quantity > 0);
    const next = { lines, version: state.version + 1 };
    return { reply: view(request.cartId, next), state: next };
  },
  getCart(state, request) {
    return { reply: view(request.cartId, state) };
  },
});

function view(cartId: string, state: CartState) {
  return { cartId, lines: state.lines.map((line) => ({ ...line })), version: BigInt(state.version) };
}
