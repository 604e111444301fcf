/**
 * One call from the gateway to a service, JSON in and JSON out, through the protocol core:
 * the subject is built and every name in it checked by `callSubject`, the headers by
 * `requestHeaders`, so a hostile name or metadata value is `invalid_argument` before NATS.
 * @module
 */
import { type Discovery, MicroError, type ServiceType, type Transport } from "../runtime/mod.ts";
import { callSubject, jsonContentType, requestHeaders, wasNotDelivered, currentTraceContext } from "../runtime/protocol/mod.ts";
import { routedRequest } from "../runtime/client/routed-request.ts";

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
  /** Only this exact version, chosen through `discovery` (from a `/v1/...` path). */
  readonly version?: string;
  readonly discovery?: Discovery;
}

/**
 * Calls a service with a JSON body and resolves with its JSON reply. The gateway has no
 * descriptors: the service decodes and encodes JSON itself (protobuf JSON mapping), so a
 * service added later is reachable without restarting the gateway.
 */
export async function callJson(transport: Transport, call: GatewayCall): Promise<Uint8Array> {
  const type = call.type ?? "srv";
  const subject = callSubject({ namespace: call.namespace, type, service: call.service, endpoint: call.endpoint });
  const h = requestHeaders({ contentType: call.contentType ?? jsonContentType, timeoutMs: call.timeoutMs, metadata: call.metadata, trace: currentTraceContext() });
  const deadline = Date.now() + call.timeoutMs;
  try {
    if (call.version !== undefined && call.discovery !== undefined) {
      const target = { namespace: call.namespace, service: call.service, endpoint: call.endpoint, queueSubject: subject };
      return (await routedRequest(call.discovery, transport, target, { version: call.version }, call.body, h, deadline, undefined)).data;
    }
    return (await transport.request(subject, call.body, h, deadline)).data;
  } catch (error) {
    // Over HTTP a service nobody serves is "not found", not a 5xx.
    if (wasNotDelivered(error)) {
      throw new MicroError("not_found", `no service ${call.service} (nothing serves ${subject})`, { detail: call.service });
    }
    throw error;
  }
}
