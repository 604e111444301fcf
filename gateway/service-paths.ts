/**
 * go-micro's path routes (`/greeter/say-hello` → `Greeter.SayHello` of `greeter`, see
 * `paths.ts`), mounted last as the catch-all: an API service gets the whole HTTP request, a
 * srv service the JSON body.
 * @module
 */
import { type Context, Hono } from "hono";
import { MicroError } from "../runtime/mod.ts";
import { callSubject, protoContentType } from "../runtime/protocol/mod.ts";
import { decodeApiResponse, encodeApiRequest } from "./api-handler.ts";
import type { AuthTarget } from "./auth.ts";
import { callJson } from "./call.ts";
import { timeoutFrom } from "./edge-bounds.ts";
import { timeoutHeader } from "./http-headers.ts";
import { assertJsonContentType } from "./content-type.ts";
import { parseCheckedJson, readJsonBody } from "./json-body.ts";
import type { GatewayDeps, GatewayEnv, GatewayPart } from "./part.ts";
import { acceptsStream, servePathStream } from "./path-stream.ts";
import { resolvePath, type Route, routePattern } from "./paths.ts";
import { resolveTarget } from "./target.ts";
import { routeOptionsOf } from "./route-options.ts";
import { emitDefaultsOf } from "./emit-defaults.ts";
import { keepConnectionOpen } from "../runtime/platform/http-server.ts";
import { servedRequest } from "./body-limit.ts";

/** A path's target, with the route it was resolved from. */
interface PathCall extends AuthTarget {
  readonly route: Route;
}

const json = { "content-type": "application/json" };
const encoder = new TextEncoder();
const emptyObject = encoder.encode("{}");
const noBody = { bytes: new Uint8Array(0), text: "" };

/** True when the registry says the path's endpoint is server-streaming. */
async function isServerStream(deps: GatewayDeps, namespace: string, route: Route): Promise<boolean> {
  if (deps.index === undefined) return false;
  const services = await deps.index.lookup(namespace, route.service);
  return services.some((s) => s.endpoints.some((e) => e.name === route.endpoint && e.kind === "server_streaming"));
}

/** Every other path, as a service call. */
export const servicePathsPart: GatewayPart = (deps) => {
  const pathCall = (c: Context<GatewayEnv>): PathCall => {
    const route = resolvePath(c.req.path);
    // Named before authorisation, so refused and failed calls are counted under their pattern too.
    c.set("routePattern", routePattern(c.req.path, route));
    const namespace = route.subNamespace === undefined ? deps.namespace : `${deps.namespace}.${route.subNamespace}`;
    callSubject({ namespace, service: route.service, endpoint: route.endpoint });
    return { namespace, service: route.service, endpoint: route.endpoint, route };
  };
  return new Hono<GatewayEnv>().all("/*", deps.authorize(pathCall), async (c) => {
    const { namespace, route } = c.var.target;
    const target = await resolveTarget(deps.index, namespace, route);
    const call = {
      namespace,
      service: route.service,
      endpoint: route.endpoint,
      timeoutMs: timeoutFrom(c.req.header(timeoutHeader), "X-Micro-Timeout", deps.timeoutMs),
      metadata: c.var.metadata,
      trace: c.var.trace,
      emitDefaults: emitDefaultsOf(c, deps.emitDefaults),
      route: target.version === undefined ? routeOptionsOf((h) => c.req.header(h)) : { ...routeOptionsOf((h) => c.req.header(h)), version: target.version },
      ...(deps.discovery !== undefined ? { discovery: deps.discovery } : {}),
      ...(deps.absent !== undefined ? { absent: deps.absent } : {}),
      // A NATS service of another library names endpoints by one word: `/inventory/stock` reaches `Stock`.
      ...(deps.natsMicro !== undefined ? { natsMicro: deps.natsMicro, natsMicroNames: [route.endpoint, route.endpoint.split(".").at(-1)!] } : {}),
    };
    if (target.type === "api") {
      const body = await encodeApiRequest(c.req.raw, deps.credentialHeaders);
      const reply = await callJson(deps.transport, { ...call, type: "api", contentType: protoContentType, body });
      return decodeApiResponse(reply, route.service);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") assertJsonContentType(c.req.raw.headers, `${route.endpoint} of ${route.service}`);
    const { bytes, text: raw } = c.req.method === "GET" || c.req.method === "HEAD" ? noBody : await readJsonBody(c.req.raw);
    if (raw.trim() !== "") {
      const parsed = parseCheckedJson(raw, "the body");
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new MicroError("invalid_argument", `the body must be a JSON object (the ${route.endpoint} request message), got ${Array.isArray(parsed) ? "an array" : String(parsed)}`);
      }
    }
    // The bytes as they came, unless a byte order mark (dropped from the text) leads them.
    const body = raw.trim() === "" ? emptyObject : bytes[0] === 0xef ? encoder.encode(raw) : bytes;
    // A server-streaming endpoint streams as SSE or NDJSON (by Accept) instead of failing as a unary call.
    const accept = c.req.header("accept");
    if (acceptsStream(accept) || (await isServerStream(deps, namespace, route))) {
      const stream = await servePathStream(deps, { ...call, body, accept: accept ?? "", signal: c.req.raw.signal, route: call.route, emitDefaults: call.emitDefaults });
      // It streams, and may go quiet between messages for as long as the handler likes: not an
      // idle connection. (Not before: a refused open is an ordinary answer.)
      keepConnectionOpen(servedRequest(c.req.raw), c.env);
      return stream;
    }
    const reply = await callJson(deps.transport, { ...call, body });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, json);
  });
};
