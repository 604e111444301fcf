/**
 * `POST /rpc` with `{service, endpoint, request[, namespace]}`: go-micro's RPC handler, for
 * any service of the namespaces the gateway allows.
 * @module
 */
import { Hono } from "hono";
import { MicroError } from "../runtime/mod.ts";
import { callSubject, isToken, shown } from "../runtime/protocol/mod.ts";
import type { AuthTarget } from "./auth.ts";
import { callJson } from "./call.ts";
import { timeoutFrom } from "./edge-bounds.ts";
import { timeoutHeader } from "./http-headers.ts";
import { assertJsonContentType } from "./content-type.ts";
import { bodyText, parseCheckedJson, stringifyJson } from "./json-body.ts";
import type { GatewayEnv, GatewayPart } from "./part.ts";
import { routeOptionsOf } from "./route-options.ts";
import { emitDefaultsOf } from "./emit-defaults.ts";

/** An `/rpc` call: its target and the request message. */
interface RpcCall extends AuthTarget {
  readonly request: unknown;
}

const encoder = new TextEncoder();

/** The `/rpc` route. */
export const rpcPart: GatewayPart = (deps) => {
  /** True when services of other NATS libraries are looked for in `namespace`: the gateway's own only. */
  const foreignIn = (namespace: string) => deps.natsMicro !== undefined && namespace === deps.namespace;
  const rpcCall = async (c: { req: { raw: Request } }): Promise<RpcCall> => {
    assertJsonContentType(c.req.raw.headers, "POST /rpc");
    const body = parseCheckedJson(await bodyText(c.req.raw), "the body");
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw invalid("body", "the body must be a JSON object {service, endpoint, request[, namespace]}");
    const { service, endpoint, request, namespace: asked } = body as Record<string, unknown>;
    if (typeof service !== "string" || typeof endpoint !== "string") {
      throw invalid("service", "service and endpoint are required strings, e.g. {\"service\":\"greeter\",\"endpoint\":\"Greeter.SayHello\"}");
    }
    if (asked !== undefined && typeof asked !== "string") throw invalid("namespace", `namespace must be a string, got ${typeof asked}`);
    if (request !== undefined && (typeof request !== "object" || request === null || Array.isArray(request))) {
      throw invalid("request", "request must be a JSON object (the request message)");
    }
    const namespace = asked ?? deps.namespace;
    if (!deps.rpcNamespaces.has(namespace)) throw new MicroError("permission_denied", `/rpc may not call namespace "${shown(namespace)}"`);
    // Every name is checked as the subject is built: a hostile one is a 400 before NATS. An
    // endpoint of a service in another NATS library is one token (`Stock`), found in $SRV.INFO;
    // such services have no namespace, so only the gateway's own reaches them.
    if (foreignIn(namespace) && isToken(endpoint)) callSubject({ namespace, service, endpoint: "Endpoint.Name" });
    else callSubject({ namespace, service, endpoint });
    return { namespace, service, endpoint, request: request ?? {} };
  };
  return new Hono<GatewayEnv>().post("/rpc", deps.authorize(rpcCall), async (c) => {
    const call = c.var.target;
    const reply = await callJson(deps.transport, {
      namespace: call.namespace,
      service: call.service,
      endpoint: call.endpoint,
      body: encoder.encode(stringifyJson(call.request, "request")),
      timeoutMs: timeoutFrom(c.req.header(timeoutHeader), "X-Micro-Timeout", deps.timeoutMs),
      metadata: c.var.metadata,
      trace: c.var.trace,
      route: routeOptionsOf((h) => c.req.header(h)),
      emitDefaults: emitDefaultsOf(c, deps.emitDefaults),
      ...(deps.natsMicro !== undefined && foreignIn(call.namespace) ? { natsMicro: deps.natsMicro } : {}),
      ...(deps.discovery !== undefined ? { discovery: deps.discovery } : {}),
      ...(deps.absent !== undefined ? { absent: deps.absent } : {}),
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/json" });
  });
};

function invalid(field: string, message: string): MicroError {
  return new MicroError("invalid_argument", message, { detail: field });
}
