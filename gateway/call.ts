/**
 * One call from the gateway to a service, JSON in and JSON out, through the protocol core:
 * the subject is built and every name in it checked by `callSubject`, the headers by
 * `requestHeaders`, so a hostile name or metadata value is `invalid_argument` before NATS.
 * With discovery every call is routed as a typed client's is (routing-rule weights, version,
 * labels, key); services that do not register still answer on their queue subject.
 * @module
 */
import { type Discovery, MicroError, type ServiceType, type Transport } from "../runtime/mod.ts";
import { callSubject, isEndpoint, isJetmicroSubject, type TraceContext, jsonContentType, requestHeaders, serviceSubject, shown, wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { NatsMicroDirectory, NatsMicroEndpoint } from "../runtime/registry/nats-micro-endpoints.ts";
import { type RouteOptions, routedRequest } from "../runtime/client/routed-request.ts";
import type { AbsentServices } from "./absent-services.ts";

/** Options of one call from the gateway. */
export interface GatewayCall {
  readonly namespace: string;
  readonly service: string;
  readonly endpoint: string;
  /** The request: protobuf JSON text, unless `contentType` says otherwise. */
  readonly body: Uint8Array;
  readonly timeoutMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  /** `srv` (default) or `api`: which subjects the service listens on. */
  readonly type?: ServiceType;
  /** `application/json` (default) or `application/proto`. */
  readonly contentType?: string;
  /** Which nodes may answer (version from a `/v1/...` path or a header, labels, key). */
  readonly route?: RouteOptions;
  readonly discovery?: Discovery;
  /**
   * Services of other NATS libraries: when no registered version has the endpoint, an
   * instance announcing an endpoint named one of `natsMicroNames` (default: the endpoint) in
   * its `$SRV.INFO` is called on the subject it announces.
   */
  readonly natsMicro?: NatsMicroDirectory;
  readonly natsMicroNames?: readonly string[];
  /** Ask the service for default-valued fields in its JSON reply too. */
  readonly emitDefaults?: boolean;
  /** The span the call continues (the HTTP request's, `c.var.trace`). */
  readonly trace?: TraceContext | undefined;
  /**
   * With `discovery`: queue subjects that just had no responders (`absent-services.ts`). A call
   * the registry knows no node for gets 404 at once while its subject is in it, and is added
   * when NATS answers "no responders".
   */
  readonly absent?: AbsentServices;
}

const anyNode: RouteOptions = {};

/**
 * Calls a service with a JSON body and resolves with its JSON reply. The gateway has no
 * descriptors: the service decodes and encodes JSON itself (protobuf JSON mapping), so a
 * service added later is reachable without restarting the gateway.
 */
export async function callJson(transport: Transport, call: GatewayCall): Promise<Uint8Array> {
  const type = call.type ?? "srv";
  const h = requestHeaders({ contentType: call.contentType ?? jsonContentType, timeoutMs: call.timeoutMs, metadata: call.metadata, emitDefaults: call.emitDefaults, trace: call.trace });
  const deadline = Date.now() + call.timeoutMs;
  const route = call.route ?? anyNode;
  const foreign = await natsMicroEndpoint(call);
  if (foreign !== undefined) return (await transport.request(foreign.subject, call.body, h, deadline)).data;
  if (!isEndpoint(call.endpoint) && call.natsMicro !== undefined) {
    throw new MicroError("not_found", `no service ${call.service} announces an endpoint "${shown(call.endpoint)}" (in $SRV.INFO)`, { detail: call.endpoint });
  }
  const subject = callSubject({ namespace: call.namespace, type, service: call.service, endpoint: call.endpoint });
  if (call.absent?.has(subject) === true && toQueueSubject(call, route)) throw nobodyServes(call.service, subject);
  try {
    if (call.discovery !== undefined) {
      const target = { namespace: call.namespace, service: call.service, endpoint: call.endpoint, queueSubject: subject };
      return (await routedRequest(call.discovery, transport, target, route, call.body, h, deadline, undefined)).data;
    }
    assertNoRoute(route);
    return (await transport.request(subject, call.body, h, deadline)).data;
  } catch (error) {
    // Over HTTP a service nobody serves is "not found", not a 5xx.
    if (wasNotDelivered(error)) {
      // Asked after the send: a service's first call loads what the registry knows of it.
      if (call.absent !== undefined && toQueueSubject(call, route)) call.absent.add(subject);
      throw nobodyServes(call.service, subject);
    }
    throw error;
  }
}

/**
 * True when the routing step sends `call` to its queue subject because the registry knows no
 * node of the service (and nothing narrows the choice): the one kind of call a remembered
 * "no responders" may answer. A registered service is always tried.
 */
function toQueueSubject(call: GatewayCall, route: RouteOptions): boolean {
  return call.discovery !== undefined && route.version === undefined && route.labels === undefined && call.discovery.cached(call.namespace, call.service)?.length === 0;
}

function nobodyServes(service: string, subject: string): MicroError {
  return new MicroError("not_found", `no service ${service} (nothing serves ${subject})`, { detail: service });
}

/** The announced endpoint of a NATS service to call instead, when no registered version has the endpoint. */
async function natsMicroEndpoint(call: GatewayCall): Promise<NatsMicroEndpoint | undefined> {
  if (call.natsMicro === undefined || call.type === "api" || call.namespace.includes(".")) return undefined;
  if (isEndpoint(call.endpoint) && call.discovery !== undefined) {
    const services = call.discovery.cached(call.namespace, call.service) ?? (await call.discovery.load(call.namespace, call.service));
    if (services.some((s) => s.endpoints.some((e) => e.name === call.endpoint || e.fullName === call.endpoint))) return undefined;
  }
  const found = await call.natsMicro.find(call.service, call.natsMicroNames ?? [call.endpoint], call.route?.version);
  return found !== undefined && announcedOutOfReach(found.subject, call) ? undefined : found;
}

/**
 * True when a service's `$SRV.INFO` announces a subject the gateway must not send its caller's
 * request to. The announcement is the service's own word and the gateway publishes with its own
 * NATS rights, so a service confined to its own subjects could otherwise make the gateway call
 * another service (`micro.srv.billing...`, `tenant.srv.billing...`), forge an event
 * (`micro.events.audit...`) or feed a node's queue for a caller allowed only that service:
 * a subject shaped like jetmicro's own is taken only when it is this service's. And `$SRV.INFO`
 * names services without their namespace, so a jetmicro service of the same name in another
 * namespace is reached only through that namespace.
 */
function announcedOutOfReach(subject: string, call: GatewayCall): boolean {
  return isJetmicroSubject(subject) && !subject.startsWith(`${serviceSubject(call.namespace, call.type ?? "srv", call.service)}.`);
}

/** Without the registry the gateway cannot choose nodes: asking it to is refused rather than ignored. */
export function assertNoRoute(route: RouteOptions): void {
  if (route.version !== undefined || route.labels !== undefined || route.key !== undefined) {
    throw new MicroError("failed_precondition", "choosing a version, labels or a key needs the gateway to follow the registry");
  }
}
