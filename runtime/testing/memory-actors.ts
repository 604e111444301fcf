/**
 * Keyed actors hosted in this process, for tests of an actor module without a nats-server:
 * `createMemoryTransport([cart])` routes an actor type's calls here.
 *
 * The handlers run in the same activation code as on NATS: one command at a time per key in
 * arrival order, state committed with revision checks (to a map instead of KV) and kept across
 * passivation, replies recorded for idempotency-key retries, `setTimer`, `remind` (timers in
 * memory), the type's interceptors, and errors in the one error codec. What is not here: the
 * JetStream mailbox (no sequences: `ctx.sequence` is 0), shards and placement, hand-off, and
 * anything surviving the process.
 * @module
 */
import { type DescMessage, type DescMethod, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { type MsgHdrs, nuid } from "@nats-io/nats-core";
import { Activation, type ActivationOwner, type ReminderChange } from "../actor/activation.ts";
import { type ActivationContext, type Command, idempotencyMetadata, type StateBucket, type StateBucketEntry } from "../actor/command.ts";
import { requestKey } from "../actor/key.ts";
import type { ActorDefinition } from "../actor/types.ts";
import type { Transport } from "../client/transport.ts";
import { MicroError } from "../errors/micro-error.ts";
import { actorCommandId, actorStateKey, decodeError } from "../protocol/mod.ts";
import type { ServiceDefinition, UnaryHandler } from "../service/types.ts";

/** Options of {@link hostActorInMemory}. */
export interface MemoryActorOptions {
  readonly namespace: string;
  /** For `ctx.client(...)` calls from handlers. */
  readonly transport: Transport;
  /** Where handler failures are reported. */
  readonly onHandlerError: (error: unknown, what: string) => void;
}

/** An actor type hosted in memory: the service definition to serve, and its keys' state. */
export interface MemoryActorHost {
  /** The definition whose endpoints run commands on the keys hosted here. */
  readonly definition: ServiceDefinition;
  /** The committed state of `key` (undefined before its first commit). */
  state(key: string): unknown;
  /** Stops every activation and timer. */
  close(): void;
}

const encoder = new TextEncoder();

/** Hosts `definition`'s keys in this process and routes its endpoints to them. */
export function hostActorInMemory(definition: ActorDefinition, options: MemoryActorOptions): MemoryActorHost {
  const spec = definition.actor;
  const bucket = new MemoryStateBucket();
  const waiting = new Map<string, (data: Uint8Array, headers: MsgHdrs | undefined) => void>();
  const activations = new Map<string, Activation>();
  const reminders = new Map<string, ReturnType<typeof setTimeout>>();
  const methods = new Map<string, { method: DescMethod; handler: string }>();
  for (const endpoint of definition.endpoints) {
    if (endpoint.handler !== undefined) methods.set(endpoint.name, { method: endpoint.method, handler: endpoint.method.localName });
  }
  const context: ActivationContext = {
    namespace: options.namespace,
    service: definition.name,
    nodeId: `${definition.name}-${nuid.next()}`,
    spec,
    methods,
    state: bucket,
    reply: (to, data, headers) => waiting.get(to)?.(data, headers),
    transport: options.transport,
    onError: options.onHandlerError,
  };
  let closed = false;

  const owner: ActivationOwner = {
    context,
    async saveReminders(key, changes: readonly ReminderChange[]) {
      for (const change of changes) {
        const id = JSON.stringify([key, change.name]);
        clearTimeout(reminders.get(id));
        reminders.delete(id);
        if ("forget" in change) continue;
        const fire = (delayMs: number) => {
          reminders.set(id, setTimeout(() => {
            if (closed) return;
            if (change.everyMs > 0) fire(change.everyMs);
            else reminders.delete(id);
            activation(key).enqueue({ kind: "reminder", seq: 0, id: "", idempotent: false, endpoint: change.name, data: encoder.encode(change.data), replyTo: undefined, metadata: {} });
          }, delayMs));
        };
        fire(change.delayMs);
      }
    },
    onIdle(idle) {
      idle.scheduleIdle(spec.passivateAfterMs ?? 60_000, () => {
        if (activations.get(idle.key) !== idle) return;
        idle.stop();
        activations.delete(idle.key);
      });
    },
    onFailure(error) {
      // A commit failed (only a bug here: nobody else writes the map). Report it; the keys start
      // again from their committed state on their next command.
      options.onHandlerError(error, `actor ${definition.name}`);
      for (const a of activations.values()) a.stop();
      activations.clear();
    },
  };

  function activation(key: string): Activation {
    let found = activations.get(key);
    if (found === undefined) {
      found = new Activation(key, owner);
      activations.set(key, found);
    }
    return found;
  }

  const endpoints = definition.endpoints.map((endpoint) => {
    if (endpoint.handler === undefined) return endpoint;
    const method = endpoint.method;
    const handler: UnaryHandler<DescMessage, DescMessage> = async function runActorCommand(request, ctx) {
      if (closed) throw new MicroError("unavailable", `actor ${definition.name} is closed`);
      const key = requestKey(request as unknown as Record<string, unknown>, spec.keyLocalName, spec.keyField);
      const given = ctx.metadata[idempotencyMetadata];
      const token = nuid.next();
      const answer = new Promise<{ data: Uint8Array; headers: MsgHdrs | undefined }>((resolve) => waiting.set(token, (data, headers) => resolve({ data, headers })));
      const command: Command = {
        kind: "call",
        seq: 0,
        id: given ? actorCommandId(definition.name, key, given) : "",
        idempotent: !!given,
        endpoint: endpoint.name,
        data: toBinary(method.input, request),
        replyTo: token,
        metadata: ctx.metadata,
      };
      activation(key).enqueue(command);
      try {
        // The caller's deadline is enforced by the transport; the command still runs, as on NATS.
        const { data, headers } = await answer;
        const error = decodeError(headers, data);
        if (error !== undefined) throw error;
        return fromBinary(method.output, data) as MessageShape<DescMessage>;
      } finally {
        waiting.delete(token);
      }
    };
    return { ...endpoint, handler };
  });

  return {
    definition: { ...definition, endpoints },
    state: (key) => bucket.value(actorStateKey(options.namespace, definition.name, key)),
    close() {
      closed = true;
      for (const a of activations.values()) a.stop();
      activations.clear();
      for (const timer of reminders.values()) clearTimeout(timer);
      reminders.clear();
    },
  };
}

/** The state bucket as a map, with the KV bucket's revision checks. */
class MemoryStateBucket implements StateBucket {
  readonly #entries = new Map<string, { value: string; revision: number }>();
  #revision = 0;

  get(key: string): Promise<StateBucketEntry | null> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(null);
    return Promise.resolve({ operation: "PUT", length: entry.value.length, revision: entry.revision, json: <T>() => JSON.parse(entry.value) as T, string: () => entry.value });
  }

  create(key: string, value: string): Promise<number> {
    if (this.#entries.has(key)) return Promise.reject(new Error("wrong last sequence: key exists"));
    return Promise.resolve(this.#put(key, value));
  }

  update(key: string, value: string, revision: number): Promise<number> {
    if (this.#entries.get(key)?.revision !== revision) return Promise.reject(new Error(`wrong last sequence: ${revision}`));
    return Promise.resolve(this.#put(key, value));
  }

  /** The committed state under `key`, or undefined. */
  value(key: string): unknown {
    const entry = this.#entries.get(key);
    return entry === undefined ? undefined : (JSON.parse(entry.value) as { state: unknown }).state;
  }

  #put(key: string, value: string): number {
    this.#entries.set(key, { value, revision: ++this.#revision });
    return this.#revision;
  }
}
