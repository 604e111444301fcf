/**
 * The Connect protocol (connectrpc.com), so clients made with `@connectrpc/connect` call
 * jetmicro services unchanged: `POST /{package.Service}/{Method}`. Unary calls with
 * `application/json` or `application/proto` (here), server and client streams with
 * `application/connect+json` or `+proto` (`connect-stream.ts`). Errors are Connect's
 * `{code, message}` with the status of the one code→HTTP map (a stream's errors travel in
 * its end-of-stream message, except a bad name, refused as a plain 400).
 * @module
 */
import { type Context, Hono } from "hono";
import { MicroError } from "../runtime/mod.ts";
import { callSubject, httpStatus, jsonContentType, protoContentType, requestHeaders, wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { AuthTarget } from "./auth.ts";
import { type ConnectCall, connectStreamError, isConnectStream, serveConnectStream } from "./connect-stream.ts";
import { timeoutFrom } from "./edge-bounds.ts";
import { readBody } from "./json-body.ts";
import { connectTimeoutHeader } from "./http-headers.ts";
import { bodyTooLargeIn } from "./errors.ts";
import type { GatewayDeps, GatewayEnv, GatewayPart, TargetContext } from "./part.ts";
import { routedRequest } from "../runtime/client/routed-request.ts";
import { assertNoRoute } from "./call.ts";
import { routeOptionsOf } from "./route-options.ts";


const path = "/:service{[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+}/:method{[A-Za-z_][A-Za-z0-9_]*}";
const encoder = new TextEncoder();

/** `greeter.v1.Greeter` → `greeter`, `acme.UserProfile` → `user-profile`: the jetmicro service name. */
export function serviceNameOf(protoService: string): string {
  const short = protoService.split(".").at(-1)!;
  return short.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/([A-Z])([A-Z][a-z])/g, "$1-$2").toLowerCase();
}

/** Connect unary and streaming calls on `POST /{package.Service}/{Method}`. */
export const connectPart: GatewayPart = (deps) => {
  const connectCall = (c: Context<GatewayEnv>): ConnectCall => {
    const protoService = c.req.param("service")!;
    const method = c.req.param("method")!;
    const service = serviceNameOf(protoService);
    const label = `${protoService}/${method}`;
    const subject = callSubject({ namespace: deps.namespace, service, endpoint: label });
    return { namespace: deps.namespace, service, endpoint: `${protoService.split(".").at(-1)}.${method}`, label, subject };
  };
  const app = new Hono<GatewayEnv>();
  // Errors before a call (names, auth) in Connect's dialect rather than the gateway's.
  app.onError((error, c) => (isConnectStream(c) ? connectStreamError(c, error) : connectError(MicroError.from(error))));
  app.post(path, deps.authorize(connectCall), (c) => (isConnectStream(c) ? serveConnectStream(c, deps) : serveUnary(c, deps)));
  return app;
};

async function serveUnary(c: TargetContext<ConnectCall>, deps: GatewayDeps): Promise<Response> {
  const contentType = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
  if (contentType !== jsonContentType && contentType !== protoContentType) {
    return connectError(new MicroError("unimplemented", `unsupported content type "${contentType.slice(0, 60)}" (Connect unary: application/json or application/proto)`), 415);
  }
  const { subject, label } = c.var.target;
  try {
    const timeoutMs = timeoutFrom(c.req.header(connectTimeoutHeader), "Connect-Timeout-Ms", deps.timeoutMs);
    const h = requestHeaders({ contentType, timeoutMs, metadata: c.var.metadata, trace: c.var.trace });
    const body = await readBody(c.req.raw);
    const data = body.length === 0 && contentType === jsonContentType ? encoder.encode("{}") : body;
    const route = routeOptionsOf((name) => c.req.header(name));
    const deadline = Date.now() + timeoutMs;
    // Routed as every gateway call is: weights, version, labels and key hold for Connect too.
    const { namespace, service } = c.var.target;
    const reply = deps.discovery !== undefined
      ? await routedRequest(deps.discovery, deps.transport, { namespace, service, endpoint: label, queueSubject: subject }, route, data, h, deadline, undefined)
      : (assertNoRoute(route), await deps.transport.request(subject, data, h, deadline));
    return new Response(reply.data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": contentType } });
  } catch (error) {
    return connectError(wasNotDelivered(error) ? new MicroError("unimplemented", `no service serves ${label.split("/")[0]}`) : MicroError.from(error));
  }
}

/** A Connect unary error: `{code, message}` with the code's HTTP status. */
export function connectError(error: MicroError, status = bodyTooLargeIn(error) !== undefined ? 413 : httpStatus(error.code)): Response {
  return new Response(JSON.stringify({ code: error.code, message: error.message }), { status, headers: { "content-type": "application/json" } });
}
