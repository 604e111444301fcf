import { repoPath } from "./service-dirs.ts";

/**
 * Source of a probe actor on the Cart proto, for tests that must see inside an actor. Its
 * state records, per key, every command it applied: the mailbox sequence, the node, and the
 * `sku` it carried; `getCart` answers with the whole state as JSON in the first line's sku.
 *
 * - `addItem` with `quantity` n holds the key for n ms (to see overlap across keys);
 * - sku `remind:<ms>` sets a persisted reminder that appends `reminded` when it fires;
 * - sku `timer:<ms>` sets an activation timer that appends `timer`;
 * - sku `every:<ms>` sets a repeating reminder, sku `forget` deletes it;
 * - sku `greet:<name>` calls the greeter from the handler and records its answer.
 */
export function probeActorModule(options: { name?: string; passivateAfterMs?: number; durable?: boolean } = {}): string {
  return `import { Cart } from ${JSON.stringify(repoPath("gen/cart/v1/cart_pb.ts"))};
import { Greeter } from ${JSON.stringify(repoPath("gen/greeter/v1/greeter_pb.ts"))};
import { defineActor } from ${JSON.stringify(repoPath("runtime/mod.ts"))};
const initialState = () => ({ applied: [], reminded: 0, timers: 0 });
export default defineActor(Cart, {
  name: ${JSON.stringify(options.name ?? "probe")},
  key: "cart_id",
  initialState,
  ${options.passivateAfterMs === undefined ? "" : `passivateAfterMs: ${options.passivateAfterMs},`}
  ${options.durable === undefined ? "" : `durable: ${options.durable},`}
  onReminder: (state, signal) => ({ ...state, reminded: state.reminded + 1, applied: [...state.applied, { sku: "reminded:" + signal.data, seq: 0, node: "" }] }),
  onTimer: (state, signal) => ({ ...state, timers: state.timers + 1, applied: [...state.applied, { sku: "timer:" + signal.name, seq: 0, node: "" }] }),
}, {
  async addItem(state, req, ctx) {
    const started = Date.now();
    if (req.quantity > 0) await new Promise((r) => setTimeout(r, req.quantity));
    if (req.sku.startsWith("remind:")) ctx.remind("r", Number(req.sku.slice(7)), { data: req.sku });
    if (req.sku.startsWith("timer:")) ctx.setTimer("t", Number(req.sku.slice(6)));
    if (req.sku.startsWith("every:")) ctx.remind("r", Number(req.sku.slice(6)), { data: req.sku, everyMs: Number(req.sku.slice(6)) });
    if (req.sku === "forget") ctx.forget("r");
    const sku = req.sku.startsWith("greet:") ? (await ctx.client(Greeter).sayHello({ name: req.sku.slice(6) })).message : req.sku;
    const entry = { sku, seq: ctx.sequence, node: ctx.nodeId, started, ended: Date.now() };
    const next = { ...state, applied: [...state.applied, entry] };
    return { reply: { cartId: req.cartId, lines: [{ sku: ctx.nodeId, quantity: next.applied.length }], version: BigInt(ctx.sequence) }, state: next };
  },
  getCart(state, req) {
    return { reply: { cartId: req.cartId, lines: [{ sku: JSON.stringify(state), quantity: state.applied.length }] } };
  },
});
`;
}

/** What a probe actor's `getCart` reveals. */
export interface ProbeState {
  readonly applied: ReadonlyArray<{ readonly sku: string; readonly seq: number; readonly node: string; readonly started: number; readonly ended: number }>;
  readonly reminded: number;
  readonly timers: number;
}
