/**
 * The subject scheme: every NATS subject (and subject-shaped KV key) jetmicro uses is built,
 * and every name that goes into one is checked, here. No other module writes a subject.
 *
 * - `{ns}.{type}.{service}.{Endpoint}`: any instance of a service (queue group
 *   `{ns}.{type}.{service}`), e.g. `micro.srv.greeter.Greeter.SayHello`.
 * - `{ns}.node.{service}.{nodeId}.{Endpoint}`: one instance, for selectors that pick a node.
 * - `{ns}.alive.{service}.{nodeId}`: an instance's liveness heartbeat (see `liveness.ts`).
 *
 * The service name leads every subject of a service, node subjects too, so NATS permissions
 * can confine a service's user to its own: `micro.srv.greeter.>` and `micro.node.greeter.>`.
 * - `{ns}.events.{topic}`, `{ns}.dlq.{service}.{topic}`, `{ns}.redrive.{service}.{consumer}.{topic}`.
 * - `{ns}.actor.{service}.{shard}.{key}` (persisted mailbox), `{ns}.actordirect.…` (direct).
 * - `$SRV.{verb}[.{name}[.{id}]]`: the NATS services protocol; `$MICRO.ACTORS.{ns}.{service}`.
 *
 * `{Endpoint}` is go-micro style `Greeter.SayHello`; the proto full name
 * `greeter.v1.Greeter/SayHello` is accepted as an alias.
 *
 * Every check throws `invalid_argument` naming what is wrong, so a hostile name is refused
 * before it reaches NATS, whose server drops the whole connection over a control line that
 * is too long ({@link maxSubjectLength}).
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { maxSubjectLength, maxSubjectTokens, maxTokenLength } from "./limits.ts";

/** What kind of service this is, as in go-micro: RPC, HTTP-shaped API, or web app. */
export type ServiceType = "srv" | "api" | "web";

/** The default namespace, as go-micro's `go.micro`. */
export const defaultNamespace = "micro";

const tokenPattern = /^[A-Za-z0-9_-]+$/;
// Actor keys may also hold "=" (base64url ids); still one token, no dots or wildcards.
const keyPattern = /^[A-Za-z0-9_=-]+$/;
// Endpoint parts as protobuf names them; the full-name alias adds a package and a "/".
const endpointPattern = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
const fullEndpointPattern = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\/[A-Za-z_][A-Za-z0-9_]*$/;

/** `value` shortened for an error message: a hostile name must not make a huge error. */
export function shown(value: string): string {
  return value.length > 60 ? `${value.slice(0, 60)}… (${value.length} characters)` : value;
}

function invalid(message: string, detail: string): MicroError {
  return new MicroError("invalid_argument", message, { detail });
}

/** True when `value` is one safe subject token: letters, digits, "-" or "_", at most {@link maxTokenLength}. */
export function isToken(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= maxTokenLength && tokenPattern.test(value);
}

/** Throws `invalid_argument` naming `what` unless `value` is one safe subject token. */
export function assertToken(what: string, value: unknown): asserts value is string {
  if (isToken(value)) return;
  if (typeof value !== "string") throw invalid(`${what} must be a string`, what);
  if (value.length > maxTokenLength) throw invalid(`${what} "${shown(value)}" is longer than ${maxTokenLength} characters`, what);
  throw invalid(`${what} "${shown(value)}" must be one NATS subject token: letters, digits, "-" or "_"`, what);
}

/** Throws `invalid_argument` unless `value` is a dotted namespace of safe tokens. */
export function assertNamespace(value: unknown): asserts value is string {
  if (typeof value !== "string") throw invalid("namespace must be a string", "namespace");
  if (value.length > maxTokenLength) throw invalid(`namespace "${shown(value)}" is longer than ${maxTokenLength} characters`, "namespace");
  for (const part of value.split(".")) assertToken("namespace", part);
}

/** Throws `invalid_argument` naming `field` unless `key` is a well-formed actor key (1-200 of letters, digits, "-", "_", "="). */
export function assertActorKey(key: string, field: string, maxLength: number): void {
  if (key.length > 0 && key.length <= maxLength && keyPattern.test(key)) return;
  throw invalid(`${field} "${shown(key)}" is not a valid key: use 1 to ${maxLength} letters, digits, "-", "_" or "="`, field);
}

/** True when `endpoint` is `Service.Method` or a proto full name `pkg.Service/Method`. */
export function isEndpoint(endpoint: unknown): endpoint is string {
  return typeof endpoint === "string" && endpoint.length <= maxTokenLength &&
    (endpointPattern.test(endpoint) || fullEndpointPattern.test(endpoint));
}

/** Throws `invalid_argument` unless `endpoint` is `Service.Method` (or `pkg.Service/Method`). */
export function assertEndpoint(endpoint: unknown, what = "endpoint"): asserts endpoint is string {
  if (isEndpoint(endpoint)) return;
  const text = typeof endpoint === "string" ? shown(endpoint) : String(endpoint);
  throw invalid(`${what} "${text}" must look like Service.Method, e.g. Greeter.SayHello`, what);
}

/**
 * Throws `invalid_argument` unless `topic` is a dotted event topic (`customer.login`) or, with
 * `wildcards`, a filter (`customer.>`, `*.login`), within the subject bounds.
 */
export function assertTopic(topic: unknown, wildcards: boolean): asserts topic is string {
  const what = wildcards ? "topic filter" : "topic";
  if (typeof topic !== "string") throw invalid(`${what} must be a string`, "topic");
  if (topic.length > maxSubjectLength / 2) throw invalid(`${what} "${shown(topic)}" is longer than ${maxSubjectLength / 2} characters`, "topic");
  const tokens = topic.split(".");
  if (tokens.length > maxSubjectTokens) throw invalid(`${what} "${shown(topic)}" has more than ${maxSubjectTokens} parts`, "topic");
  tokens.forEach((t, i) => {
    const ok = isToken(t) || (wildcards && (t === "*" || (t === ">" && i === tokens.length - 1)));
    if (!ok) {
      throw invalid(`${what} "${shown(topic)}" has a bad token "${shown(t)}": use letters, digits, "-", "_"${wildcards ? ', "*" or a final ">"' : ""}`, "topic");
    }
  });
}

/** The kind tokens of jetmicro's subjects under a namespace (`{ns}.{kind}.…`), each built below. */
const subjectKinds: ReadonlySet<string> = new Set(["srv", "api", "web", "node", "alive", "events", "dlq", "redrive", "actor", "actordirect"]);

/**
 * True when `subject` has the shape of one of jetmicro's own subjects in any namespace (one or
 * more namespace tokens, a kind token such as `srv`, `events` or `node`, then more): what a
 * subject announced by someone else must not be taken as, since jetmicro's subjects carry
 * calls, events and heartbeats that only their owners may send.
 */
export function isJetmicroSubject(subject: string): boolean {
  const tokens = subject.split(".");
  for (let i = 1; i < tokens.length - 1; i++) if (subjectKinds.has(tokens[i]!)) return true;
  return false;
}

/** Throws `invalid_argument` unless the finished subject fits the bound; returns it. */
export function checkedSubject(subject: string): string {
  if (subject.length > maxSubjectLength) {
    throw invalid(`subject "${shown(subject)}" is longer than ${maxSubjectLength} characters`, "subject");
  }
  return subject;
}

// ---- Services ----------------------------------------------------------------------------

/** The subject prefix shared by every endpoint of a service (and its queue group): `micro.srv.greeter`. */
export function serviceSubject(namespace: string, type: ServiceType, service: string): string {
  return `${namespace}.${type}.${service}`;
}

/**
 * The subject prefix that reaches one node of `service` only: `micro.node.greeter.<nodeId>`.
 * The service token comes first so a service's NATS user can be allowed `micro.node.greeter.>`.
 */
export function nodeSubject(namespace: string, service: string, nodeId: string): string {
  return `${namespace}.node.${service}.${nodeId}`;
}

/**
 * The subject an instance of `service` publishes its liveness heartbeat on:
 * `micro.alive.greeter.<nodeId>`. `alive` is never a service type, so it cannot clash with a
 * service's subjects.
 */
export function nodeAliveSubject(namespace: string, service: string, nodeId: string): string {
  return `${namespace}.alive.${service}.${nodeId}`;
}

/** What a caller subscribes to hear every instance's heartbeat of a namespace: `micro.alive.*.*`. */
export function nodeAliveFilter(namespace: string): string {
  return `${namespace}.alive.*.*`;
}

/**
 * True when `nodeId` names a node of `service`: `{service}-{unique}`, the unique part one token
 * without "-" (jetmicro names its nodes `{service}-{nuid}`). So a node id names one service
 * only: `a-b-x1` is a node of `a-b`, never of `a`. Liveness keeps its state per node id within
 * a namespace, so a service heartbeating under another service's ids could otherwise keep that
 * service's dead nodes looking alive; routing takes only a called service's own nodes.
 */
export function isNodeOf(service: string, nodeId: unknown): nodeId is string {
  return isToken(nodeId) && nodeId.length > service.length + 1 && nodeId.charCodeAt(service.length) === 45 /* - */ &&
    nodeId.startsWith(service) && nodeId.indexOf("-", service.length + 1) < 0;
}

/**
 * The node id of a heartbeat subject heard on {@link nodeAliveFilter}`(namespace)`, or
 * undefined when it is not one: the id is the token after the service's, and counts only as a
 * node of that service ({@link isNodeOf}). So a service whose NATS user is confined to
 * `micro.alive.<svc>.>` cannot keep another service's dead node looking alive (its callers
 * would wait out their deadlines).
 */
export function nodeIdOfAliveSubject(namespace: string, subject: string): string | undefined {
  const service = namespace.length + ".alive.".length;
  const dot = subject.indexOf(".", service);
  if (dot < 0) return undefined;
  const id = subject.slice(dot + 1);
  return isNodeOf(subject.slice(service, dot), id) ? id : undefined;
}

/** An endpoint's subject under a service or node prefix: `micro.srv.greeter.Greeter.SayHello`. */
export function endpointSubject(prefix: string, endpoint: string): string {
  return `${prefix}.${endpoint}`;
}

/** The subject a service instance subscribes for all its endpoints: `micro.srv.greeter.>`. */
export function allEndpoints(prefix: string): string {
  return `${prefix}.>`;
}

/** The endpoint of a request subject under `prefix` (the part after `prefix.`), or undefined. */
export function endpointOf(subject: string, prefix: string): string | undefined {
  return subject.length > prefix.length + 1 && subject.startsWith(prefix) && subject.charCodeAt(prefix.length) === 46
    ? subject.slice(prefix.length + 1)
    : undefined;
}

/**
 * The checked subject of a call: to any instance (`{ns}.{type}.{service}.{Endpoint}`) or, with
 * `node`, to one (`{ns}.node.{service}.{node}.{Endpoint}`). Every name is validated.
 */
export function callSubject(target: { namespace: string; type?: ServiceType; service: string; endpoint: string; node?: string }): string {
  assertNamespace(target.namespace);
  assertToken("service", target.service);
  assertEndpoint(target.endpoint);
  if (target.node !== undefined) {
    assertToken("node", target.node);
    return checkedSubject(endpointSubject(nodeSubject(target.namespace, target.service, target.node), target.endpoint));
  }
  return checkedSubject(endpointSubject(serviceSubject(target.namespace, target.type ?? "srv", target.service), target.endpoint));
}

// ---- The NATS services protocol ----------------------------------------------------------

/** The NATS services protocol's subject prefix. */
export const servicesApiPrefix = "$SRV";
/** The verbs of the NATS services protocol. */
export type ServicesVerb = "PING" | "INFO" | "STATS";

/** `$SRV.{verb}`, `$SRV.{verb}.{name}` or `$SRV.{verb}.{name}.{id}`. */
export function servicesApiSubject(verb: ServicesVerb, name?: string, id?: string): string {
  if (name === undefined) return `${servicesApiPrefix}.${verb}`;
  assertToken("service", name);
  if (id === undefined) return `${servicesApiPrefix}.${verb}.${name}`;
  assertToken("node", id);
  return `${servicesApiPrefix}.${verb}.${name}.${id}`;
}

// ---- Events ------------------------------------------------------------------------------

/** The stream subjects of a namespace's events, dead letters and re-drives. */
export function eventStreamSubjects(namespace: string): { events: string; dlq: string; redrive: string } {
  return { events: `${namespace}.events.>`, dlq: `${namespace}.dlq.>`, redrive: `${namespace}.redrive.>` };
}

/** Where an event of `topic` is stored: `micro.events.customer.login`. */
export function eventSubject(namespace: string, topic: string): string {
  return `${namespace}.events.${topic}`;
}

/** The prefix of every event subject (`micro.events.`): the topic follows it. */
export function eventPrefix(namespace: string): string {
  return `${namespace}.events.`;
}

/** Where the dead letters of `service`'s consumers are stored: `micro.dlq.audit`. */
export function deadLetterSubject(namespace: string, service: string): string {
  return `${namespace}.dlq.${service}`;
}

/** Where a re-driven event goes, for `consumer` of `service` only. */
export function redriveSubject(namespace: string, service: string, consumer: string, topic: string): string {
  return `${namespace}.redrive.${service}.${consumer}.${topic}`;
}

/** Filter of the re-drives meant for one consumer. */
export function redriveFilter(namespace: string, service: string, consumer: string): string {
  return `${namespace}.redrive.${service}.${consumer}.>`;
}

// ---- Keyed actors ------------------------------------------------------------------------

/** The stream subjects of a namespace's actor mailboxes. */
export function actorStreamSubjects(namespace: string): string {
  return `${namespace}.actor.>`;
}

/** Subject of a key's mailbox: `micro.actor.cart.3.c1`. */
export function actorMailboxSubject(namespace: string, service: string, shard: number, key: string): string {
  return `${namespace}.actor.${service}.${shard}.${key}`;
}

/** Filter of one shard's mailbox (all keys). */
export function actorShardFilter(namespace: string, service: string, shard: number): string {
  return `${namespace}.actor.${service}.${shard}.>`;
}

/** Subject an owner serves for commands that skip the mailbox: `micro.actordirect.cart.3.c1`. */
export function actorDirectSubject(namespace: string, service: string, shard: number, key: string): string {
  return `${namespace}.actordirect.${service}.${shard}.${key}`;
}

/** Filter of one shard's direct commands. */
export function actorDirectFilter(namespace: string, service: string, shard: number): string {
  return `${namespace}.actordirect.${service}.${shard}.*`;
}

/** The status subject of an actor type: `$MICRO.ACTORS.micro.cart`. */
export function actorStatusSubject(namespace: string, service: string): string {
  return `$MICRO.ACTORS.${namespace}.${service}`;
}

/** The subject a KV bucket stores `key` under (what a write publishes to): `$KV.micro_actor_state.micro.cart.c1`. */
export function kvEntrySubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

/** KV key of a key's state (and of other per-key records): `micro.cart.c1`. */
export function actorStateKey(namespace: string, service: string, key: string): string {
  return `${namespace}.${service}.${key}`;
}

/** KV key prefix of an actor type's leases and members: `micro.cart` (its entries follow a "."). */
export function actorTypePrefix(namespace: string, service: string): string {
  return `${namespace}.${service}`;
}

/** KV filter of every lease (or every member) of an actor type: `micro.cart.>`. */
export function actorTypeFilter(namespace: string, service: string): string {
  return `${namespace}.${service}.>`;
}

/** KV key of a shard's lease: `micro.cart.3`. */
export function actorLeaseKey(namespace: string, service: string, shard: number): string {
  return `${namespace}.${service}.${shard}`;
}

/** KV key of a live node of an actor type: `micro.cart.<nodeId>`. */
export function actorMemberKey(namespace: string, service: string, nodeId: string): string {
  return `${namespace}.${service}.${nodeId}`;
}

/** KV key prefix of one shard's reminders: `micro.cart.3` (then `.{key}.{name}`). */
export function actorReminderPrefix(namespace: string, service: string, shard: number): string {
  return `${namespace}.${service}.${shard}`;
}

/** KV key of a reminder of a key: `micro.cart.3.c1.expire`. */
export function actorReminderKey(prefix: string, key: string, name: string): string {
  return `${prefix}.${key}.${name}`;
}

/** KV filter of every reminder under a prefix from {@link actorReminderPrefix}. */
export function actorRemindersFilter(prefix: string): string {
  return `${prefix}.>`;
}

/** A reply subject under an inbox prefix: `_INBOX.abc.<token>`. */
export function inboxReplySubject(inbox: string, token: string): string {
  return `${inbox}.${token}`;
}

/** The filter of every reply subject under an inbox prefix: `_INBOX.abc.*`. */
export function inboxFilter(inbox: string): string {
  return `${inbox}.*`;
}

// ---- Message ids JetStream deduplicates on (`Nats-Msg-Id`) -------------------------------

/** Id of a command sent with idempotency-key metadata: retries with the same key count once. */
export function actorCommandId(service: string, key: string, idempotencyKey: string): string {
  return `${service}.${key}.${idempotencyKey}`;
}

/** Id of one firing of a reminder: firing again after a crash counts once. */
export function actorReminderId(service: string, key: string, name: string, dueAt: number): string {
  return `reminder.${service}.${key}.${name}.${dueAt}`;
}

/** Id of the dead letter of stream message `sequence`: dead-lettering it twice stores it once. */
export function deadLetterId(stream: string, sequence: number): string {
  return `${stream}-${sequence}`;
}

/** Id of the re-drive of dead letter `deadLetterSequence`: re-driving twice sends it once. */
export function redriveId(deadLetterSequence: number): string {
  return `redrive-${deadLetterSequence}`;
}

// ---- KV keys of the registry and routing rules -------------------------------------------

/** The stream holding KV bucket `bucket`: `KV_micro_registry`. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

/** What the subjects of KV bucket `bucket`'s entries start with (the key follows): `$KV.micro_registry.`. */
export function kvSubjectPrefix(bucket: string): string {
  return `$KV.${bucket}.`;
}

/** KV key of one registered instance: `micro.greeter.<nodeId>`. */
export function registryKey(namespace: string, service: string, nodeId: string): string {
  return `${namespace}.${service}.${nodeId}`;
}

/** The checked KV key of one registered instance: `invalid_argument` for a bad name. */
export function checkedRegistryKey(namespace: string, service: string, nodeId: string): string {
  assertNamespace(namespace);
  assertToken("service", service);
  assertToken("node", nodeId);
  return checkedSubject(registryKey(namespace, service, nodeId));
}

/** KV key of a service's routing rules: `micro.greeter`. */
export function routeRulesKey(namespace: string, service: string): string {
  return `${namespace}.${service}`;
}

/** The checked KV key of a service's routing rules: `invalid_argument` for a bad name. */
export function checkedRouteRulesKey(namespace: string, service: string): string {
  assertNamespace(namespace);
  assertToken("service", service);
  return checkedSubject(routeRulesKey(namespace, service));
}
