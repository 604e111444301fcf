import { MicroError } from "../errors/micro-error.ts";
import { assertTimeout, callSubject, currentTraceContext, jsonContentType, requestHeaders, shown } from "../protocol/mod.ts";
import { isCallableSubject } from "../registry/nats-micro-endpoints.ts";
import type { Discovery } from "./discovery.ts";
import { routedRequest } from "./routed-request.ts";
import type { Transport } from "./transport.ts";

/** One call with a JSON request, for callers without the service's generated code. */
export interface JsonCall {
  readonly namespace: string;
  readonly service: string;
  /** `Greeter.SayHello`, or the proto full name `greeter.v1.Greeter/SayHello`. */
  readonly endpoint: string;
  /** The request as protobuf JSON (a JSON object). */
  readonly request: unknown;
  /** Default 10000. */
  readonly timeoutMs?: number;
  readonly metadata?: Readonly<Record<string, string>>;
  /** Only a node running this version (needs `discovery`). */
  readonly version?: string;
  /** Only this node id. */
  readonly node?: string;
  /**
   * Send to this subject instead: the endpoint of a service of another NATS library, as its
   * `$SRV.INFO` announces it (see `createNatsMicroDirectory`). `endpoint` then only names it.
   */
  readonly subject?: string;
  /** Ask for default-valued fields in the reply too (`0`, `""`, `false`, `[]`). */
  readonly emitDefaults?: boolean;
}

/**
 * Calls an endpoint with a JSON request and resolves with its JSON reply, parsed. The
 * service decodes and encodes JSON itself (the protobuf JSON mapping), so no descriptor is
 * needed: this is how the CLI calls any service. With `discovery`, calls are routed as a
 * typed client's are (version weights, retry on a vanished node). Rejects with `MicroError`.
 */
export async function callJson(transport: Transport, call: JsonCall, discovery?: Discovery): Promise<unknown> {
  if (call.subject !== undefined && !isCallableSubject(call.subject)) {
    throw new MicroError("invalid_argument", `"${shown(call.subject)}" is not a subject a request can be sent to`, { detail: "subject" });
  }
  const queueSubject = call.subject ?? callSubject({ namespace: call.namespace, service: call.service, endpoint: call.endpoint });
  if (typeof call.request !== "object" || call.request === null || Array.isArray(call.request)) {
    throw new MicroError("invalid_argument", "the request must be a JSON object, e.g. {\"name\":\"Ada\"}", { detail: "request" });
  }
  const timeoutMs = call.timeoutMs ?? 10_000;
  if (!Number.isInteger(timeoutMs)) throw new MicroError("invalid_argument", `timeout must be a whole number of ms above 0, got ${timeoutMs}`, { detail: "timeout" });
  assertTimeout(timeoutMs, "timeout");
  const headers = requestHeaders({ contentType: jsonContentType, timeoutMs, metadata: call.metadata, emitDefaults: call.emitDefaults, trace: currentTraceContext() });
  const data = new TextEncoder().encode(JSON.stringify(call.request));
  const deadline = Date.now() + timeoutMs;

  let reply;
  if (call.subject !== undefined) {
    reply = await transport.request(call.subject, data, headers, deadline);
  } else if (call.node !== undefined) {
    reply = await transport.request(callSubject({ namespace: call.namespace, service: call.service, endpoint: call.endpoint, node: call.node }), data, headers, deadline);
  } else if (discovery !== undefined) {
    const target = { namespace: call.namespace, service: call.service, endpoint: call.endpoint, queueSubject };
    reply = await routedRequest(discovery, transport, target, call.version === undefined ? {} : { version: call.version }, data, headers, deadline, undefined);
  } else {
    if (call.version !== undefined) throw new MicroError("invalid_argument", "choosing a version needs discovery (the registry)");
    reply = await transport.request(queueSubject, data, headers, deadline);
  }
  const text = new TextDecoder().decode(reply.data);
  try {
    return text === "" ? {} : JSON.parse(text);
  } catch (cause) {
    throw new MicroError("internal", `the reply of ${call.endpoint} is not JSON: ${text.slice(0, 80)}`, { cause });
  }
}
