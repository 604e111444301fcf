import { type DescMessage, type DescService, ScalarType } from "@bufbuild/protobuf";
import { MicroError } from "../errors/micro-error.ts";
import { assertObservers } from "../protocol/mod.ts";
import { defineService } from "../service/define.ts";
import type { UnaryHandler } from "../service/types.ts";
import { startActor } from "./host.ts";
import type { ActorDefinition, ActorHandler, ActorImpl, ActorOptions, ActorSpec } from "./types.ts";

/** Key of the service metadata that marks an actor type (value: the key field). */
export const actorKeyMetadata = "actor.key";

/**
 * Defines a keyed actor type from a generated protobuf descriptor: one actor per key taken
 * from each request, with its own state, handled one command at a time. A module in
 * `services/` default-exports the result; callers use the typed client, the gateway or the
 * CLI exactly as for any service.
 *
 * @example
 * ```ts
 * import { Cart } from "../gen/cart/v1/cart_pb.ts";
 * export default defineActor(Cart, { key: "cart_id", initialState: () => ({ lines: [] }) }, {
 *   addItem: async (state, req) => {
 *     const next = { lines: [...state.lines, { sku: req.sku, quantity: req.quantity }] };
 *     return { reply: { cartId: req.cartId, lines: next.lines }, state: next };
 *   },
 * });
 * ```
 */
export function defineActor<S extends DescService, State>(
  descriptor: S,
  options: ActorOptions<State>,
  impl: Partial<ActorImpl<S, State>>,
): ActorDefinition<S> {
  if (typeof options.initialState !== "function") {
    throw new MicroError("invalid_argument", `initialState of ${descriptor.typeName} must be a function of the key`);
  }
  const shards = options.shards ?? 16;
  if (!Number.isInteger(shards) || shards < 1 || shards > 4096) {
    throw new MicroError("invalid_argument", `shards must be an integer from 1 to 4096, got ${shards}`);
  }
  if (options.passivateAfterMs !== undefined && (!Number.isInteger(options.passivateAfterMs) || options.passivateAfterMs < 1)) {
    throw new MicroError("invalid_argument", `passivateAfterMs must be a positive integer, got ${options.passivateAfterMs}`);
  }
  const { keyField, keyLocalName } = keyFieldOf(descriptor, options.key);
  const handlers = impl as Record<string, ActorHandler<unknown, DescMessage, DescMessage>>;
  for (const interceptor of options.interceptors ?? []) {
    if (typeof interceptor !== "function") throw new MicroError("invalid_argument", "each interceptor must be a function (next) => (request) => Promise<response>");
  }
  assertObservers(options.observers);
  // defineService checks the method names and that each handler is a function; the handlers
  // it gets only mark what is implemented, the actor runtime replaces them with its router.
  const marks = Object.fromEntries(Object.keys(handlers).map((name) => [name, unreachable]));
  const service = defineService(descriptor, {
    ...options,
    // The router's handlers mostly wait for the owner's reply: many may wait at once.
    mailbox: { ...options.mailbox, capacity: options.mailbox?.capacity ?? 1000, concurrency: options.mailbox?.concurrency ?? 1000 },
    // Checked here, run by the owners around each command (see ActorOptions.interceptors), not by the router.
    interceptors: [],
    observers: [],
    metadata: { ...options.metadata, [actorKeyMetadata]: keyField, "actor.shards": String(shards) },
  }, marks as never);
  const actor: ActorSpec = {
    keyField,
    keyLocalName,
    initialState: options.initialState as (key: string) => unknown,
    passivateAfterMs: options.passivateAfterMs,
    shards,
    durable: options.durable ?? true,
    handlers,
    onTimer: options.onTimer as ActorSpec["onTimer"],
    onReminder: options.onReminder as ActorSpec["onReminder"],
    interceptors: [...(options.interceptors ?? [])],
    observers: [...(options.observers ?? [])],
  };
  const definition: ActorDefinition<S> = { ...service, actor, start: (startOptions) => startActor(definition, startOptions) };
  return definition;
}

/** True when `value` is what {@link defineActor} returns. */
export function isActorDefinition(value: unknown): value is ActorDefinition {
  return typeof value === "object" && value !== null && typeof (value as { actor?: unknown }).actor === "object";
}

const unreachable: UnaryHandler<DescMessage, DescMessage> = () => {
  throw new MicroError("internal", "an actor endpoint was called without the actor runtime (serve it with startActor or the runner)");
};

/** The key field, which every unary method's request must have as a string. */
function keyFieldOf(descriptor: DescService, name: string): { keyField: string; keyLocalName: string } {
  if (typeof name !== "string" || name === "") throw new MicroError("invalid_argument", `key of ${descriptor.typeName} must name a request field`);
  let found: { keyField: string; keyLocalName: string } | undefined;
  for (const method of descriptor.methods) {
    if (method.methodKind !== "unary") continue;
    const field = method.input.fields.find((f) => f.name === name || f.localName === name);
    if (field === undefined || field.fieldKind !== "scalar" || field.scalar !== ScalarType.STRING) {
      throw new MicroError(
        "invalid_argument",
        `key "${name}": ${method.input.typeName} (request of ${method.name}) has no string field of that name`,
        { detail: "key" },
      );
    }
    found = { keyField: field.name, keyLocalName: field.localName };
  }
  if (found === undefined) throw new MicroError("invalid_argument", `${descriptor.typeName} has no unary method to be an actor`);
  return found;
}
