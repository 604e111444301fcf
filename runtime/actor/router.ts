/**
 * The router: what answers on the service subject (`micro.srv.cart.Cart.AddItem`), so callers
 * need not know where a key lives. It validates the key, persists the command in the key's
 * mailbox (JetStream acknowledges it stored before anything else happens) and waits for the
 * owner's reply on its own inbox. The caller's own reply subject is stored with the command
 * and the owner answers there too: a router that dies after storing a command does not take
 * the reply with it. A retry JetStream recognises (same idempotency key) is answered from the
 * reply the owner kept with the key's state, or, when that is no longer kept, with a definite
 * `already_exists` naming the applied mailbox sequence, never with a timeout. Without durable mailboxes it sends the command straight to
 * the shard's owner over core NATS instead.
 * @module
 */
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { createInbox, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection, nuid, type Subscription } from "@nats-io/nats-core";
import { currentTraceContext, decodeError, maxSubjectLength, traceparentHeader, tracestateHeader, writeMetadata } from "../protocol/mod.ts";
import { MicroError } from "../errors/micro-error.ts";
import { publishDurably } from "../nats/durable-publish.ts";
import type { AckPublisher } from "../nats/ack-publisher.ts";
import type { HandlerContext, ServiceDefinition, UnaryHandler } from "../service/types.ts";
import {
  actorCommandId,
  actorDirectSubject as directSubject,
  actorEndpointHeader as endpointHeader,
  actorCallerReplyHeader as callerReplyHeader,
  actorIdempotentHeader as idempotentHeader,
  actorMailboxSubject as mailboxSubject,
  actorReplyHeader as replyHeader,
  actorStateKey as stateKey,
  inboxFilter,
  inboxReplySubject,
} from "../protocol/mod.ts";
import { idempotencyMetadata } from "./command.ts";
import { requestKey, shardOf } from "./key.ts";
import { errorOf, keptAnswer } from "./reply.ts";
import type { ActorStore, StateEntry } from "./store.ts";
import type { ActorDefinition } from "./types.ts";

/** How often a retry of a stored command looks for its recorded reply: 20 ms doubling to 250 ms. */
const recordedFirstPollMs = 20;
const recordedMaxPollMs = 250;

/** `owner` is set on the answer the key's owner sent (to the caller too, when it was given one). */
type Answer = ({ readonly data: Uint8Array } | { readonly error: MicroError }) & { readonly owner?: true };

/** How often waiting commands are checked against their deadlines (one timer for them all). */
const sweepEveryMs = 50;

/** Replies for this router's commands, on one wildcard inbox subscription. */
class ReplyInbox {
  readonly prefix = createInbox();
  readonly #pending = new Map<string, { resolve: (answer: Answer) => void; deadline: number; what: string }>();
  readonly #subscription: Subscription;
  readonly #skip: number;
  #sweep: ReturnType<typeof setInterval> | undefined;

  constructor(nc: NatsConnection) {
    const skip = (this.#skip = this.prefix.length + 1);
    this.#subscription = nc.subscribe(inboxFilter(this.prefix), {
      callback: (_error, msg: Msg) => {
        const call = this.#pending.get(msg.subject.slice(skip));
        if (call === undefined) return;
        this.#settle(msg.subject.slice(skip), answerOf(msg, "the actor"));
      },
    });
  }

  /** Waits for the reply to `token` until `deadline` (checked every {@link sweepEveryMs}). */
  wait(token: string, deadline: number, what: string): Promise<Answer> {
    return new Promise((resolve) => {
      this.#pending.set(token, { resolve, deadline, what });
      this.#sweep ??= setInterval(() => this.#expire(), sweepEveryMs);
    });
  }

  cancel(token: string): void {
    this.#pending.delete(token);
  }

  /**
   * Takes a reply sent to this inbox by an owner in this same process without NATS; false
   * when `to` is not this inbox.
   */
  deliverLocally(to: string, data: Uint8Array, headers: MsgHdrs | undefined): boolean {
    if (to.length < this.#skip || !to.startsWith(this.prefix) || to.charCodeAt(this.prefix.length) !== 46 /* . */) return false;
    const token = to.slice(this.#skip);
    if (!this.#pending.has(token)) return true; // gave up waiting: a reply over NATS would be dropped too
    const error = decodeError(headers, data);
    this.#settle(token, error === undefined ? { data, owner: true } : { error, owner: true });
    return true;
  }

  #expire(): void {
    const now = Date.now();
    for (const [token, call] of this.#pending) {
      if (call.deadline > now) continue;
      this.#settle(token, { error: new MicroError("deadline_exceeded", `no reply from ${call.what} in time (the command is stored and will run; a retry counts once only with the same idempotency-key metadata)`) });
    }
    if (this.#pending.size === 0) {
      clearInterval(this.#sweep);
      this.#sweep = undefined;
    }
  }

  #settle(token: string, answer: Answer): void {
    const call = this.#pending.get(token);
    if (call === undefined) return;
    this.cancel(token);
    call.resolve(answer);
  }

  close(): void {
    for (const token of [...this.#pending.keys()]) this.#settle(token, { error: new MicroError("unavailable", "the actor router stopped") });
    clearInterval(this.#sweep);
    this.#sweep = undefined;
    this.#subscription.unsubscribe();
  }
}

function answerOf(msg: Msg, what: string): Answer {
  const error = errorOf(msg, what);
  return error === undefined ? { data: msg.data, owner: true } : { error, owner: true };
}

/** A service definition whose handlers route to actors, and what must be closed with it. */
export interface ActorRouter {
  readonly definition: ServiceDefinition;
  /**
   * Hands a reply for one of this router's commands straight to it when `to` is its inbox
   * (the key's owner runs in this process), saving a trip through NATS; false otherwise.
   */
  deliverLocally(to: string, data: Uint8Array, headers?: MsgHdrs): boolean;
  close(): void;
}

/** Builds the router of `definition` on `nc`. */
export function createRouter(definition: ActorDefinition, nc: NatsConnection, store: ActorStore, namespace: string, publisher: AckPublisher): ActorRouter {
  const spec = definition.actor;
  const inbox = spec.durable ? new ReplyInbox(nc) : undefined;
  const endpoints = definition.endpoints.map((endpoint) => {
    if (endpoint.handler === undefined) return endpoint;
    const method = endpoint.method;
    const handler: UnaryHandler<DescMessage, DescMessage> = async function routeToActor(request, ctx) {
      const key = requestKey(request as unknown as Record<string, unknown>, spec.keyLocalName, spec.keyField);
      const shard = shardOf(key, spec.shards);
      const data = toBinary(method.input, request);
      const headers = natsHeaders();
      headers.set(endpointHeader, endpoint.name);
      writeMetadata(headers, ctx.metadata);
      const trace = ctx.trace ?? currentTraceContext();
      if (trace !== undefined) {
        headers.set(traceparentHeader, trace.traceparent);
        if (trace.tracestate) headers.set(tracestateHeader, trace.tracestate);
      }
      const answer = inbox === undefined
        ? await direct(nc, directSubject(namespace, definition.name, shard, key), data, headers, ctx)
        : await durable(key, shard, data, headers, ctx, inbox);
      if ("error" in answer) throw answer.error;
      return fromBinary(method.output, answer.data) as MessageShape<DescMessage>;
    };
    return { ...endpoint, handler };
  });

  async function durable(key: string, shard: number, data: Uint8Array, headers: ReturnType<typeof natsHeaders>, ctx: HandlerContext, inbox: ReplyInbox): Promise<Answer> {
    const token = nuid.next();
    headers.set(replyHeader, inboxReplySubject(inbox.prefix, token));
    const given = ctx.metadata[idempotencyMetadata];
    if (given) headers.set(idempotentHeader, "1");
    const callerReply = ctx.replySubject;
    const ownerAnswersCaller = callerReply !== undefined && callerReply.length <= maxSubjectLength;
    if (ownerAnswersCaller) headers.set(callerReplyHeader, callerReply);
    const what = `actor ${definition.name}/${key}`;
    const reply = inbox.wait(token, ctx.deadline, what);
    let duplicate: boolean;
    let storedSeq: number;
    try {
      // Retried through elections and reconnects until the call's deadline: the msgID makes a
      // stored command count once.
      const ack = await publishDurably(publisher, mailboxSubject(namespace, definition.name, shard, key), data, {
        headers,
        msgID: given ? actorCommandId(definition.name, key, given) : token,
      }, ctx.deadline);
      duplicate = ack.duplicate;
      storedSeq = ack.seq;
    } catch (cause) {
      inbox.cancel(token);
      // No acknowledgement in time is not "not stored": the server may have stored it, and then
      // it runs. Only an idempotency key makes a retry safe.
      if ((cause as MicroError)?.code === "deadline_exceeded") {
        const advice = given ? "a retry with the same idempotency-key counts once" : "send metadata idempotency-key to retry safely";
        throw new MicroError("deadline_exceeded", `the mailbox of ${what} did not acknowledge the command in time: it may have been stored and may still run (${advice})`, { cause });
      }
      throw new MicroError("unavailable", `cannot store the command for ${what} in its mailbox: ${(cause as Error).message}`, { cause });
    }
    if (!duplicate) {
      const answer = await reply;
      // The owner sent this same answer to the caller as well: the server need not send it again.
      if (ownerAnswersCaller && answer.owner) ctx.markAnswered?.();
      return answer;
    }
    // A retry of a command already stored: its reply goes to the first attempt's inbox, so
    // wait for it to be recorded with the key's state instead.
    inbox.cancel(token);
    return await recorded(stateKey(namespace, definition.name, key), actorCommandId(definition.name, key, given!), storedSeq, ctx.deadline, what);
  }

  /**
   * The answer to a retry of the command stored at mailbox sequence `seq`: its kept reply once
   * the owner has committed it; `already_exists` when the key's committed sequence has passed
   * `seq` and the reply is no longer kept (the command ran, once).
   */
  async function recorded(kvKey: string, id: string, seq: number, deadline: number, what: string): Promise<Answer> {
    // Polled, not watched: a watch is an ordered consumer, which nats-server 2.9 may place on a
    // dead node right after a failover, and it would then wait out the deadline. A get is
    // answered by any live replica of the state bucket.
    let pause = recordedFirstPollMs;
    while (Date.now() < deadline) {
      const entry = await store.state.get(kvKey).catch(() => null);
      if (entry !== null && entry.operation === "PUT" && entry.length > 0) {
        const committed = entry.json<StateEntry>();
        const kept = committed.recent?.find((r) => r[0] === id);
        if (kept !== undefined) return keptAnswer(kept);
        if (typeof committed.seq === "number" && committed.seq >= seq) {
          return { error: new MicroError("already_exists", `the command was already applied to ${what} (mailbox sequence ${seq}); its reply is no longer kept`, { metadata: { sequence: String(seq) } }) };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - Date.now()))));
      pause = Math.min(pause * 2, recordedMaxPollMs);
    }
    return { error: new MicroError("deadline_exceeded", `no reply from ${what} in time (the command was stored before and will run once)`) };
  }

  return {
    definition: { ...definition, endpoints },
    deliverLocally: (to, data, headers) => inbox?.deliverLocally(to, data, headers) ?? false,
    close: () => inbox?.close(),
  };
}

/** Sends a command to the shard's owner; while the shard is between owners, tries again until the deadline. */
async function direct(nc: NatsConnection, subject: string, data: Uint8Array, headers: ReturnType<typeof natsHeaders>, ctx: HandlerContext): Promise<Answer> {
  for (;;) {
    const left = ctx.deadline - Date.now();
    if (left <= 0) return { error: new MicroError("deadline_exceeded", `no owner answered ${subject} in time`) };
    try {
      const msg = await nc.request(subject, data, { headers, timeout: left });
      return answerOf(msg, subject);
    } catch (error) {
      const text = String((error as Error).message);
      if (!/no responders|503/i.test(text)) return { error: new MicroError("deadline_exceeded", `no owner answered ${subject} in time: ${text}`) };
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(50, left)));
  }
}
