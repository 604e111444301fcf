/**
 * The Connect unary protocol (connectrpc.com), so clients made with `@connectrpc/connect`
 * call jetmicro services unchanged: `POST /{package.Service}/{Method}` with
 * `application/json` or `application/proto`, errors as Connect error JSON.
 * @module
 */
import type { Hono } from "hono";
import { MicroError, type Transport } from "../runtime/mod.ts";
import { callSubject, httpStatus, requestHeaders, wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { Guard } from "./guard.ts";
import { connectTimeoutHeader } from "./http-headers.ts";

/** `greeter.v1.Greeter` → `greeter`, `acme.UserProfile` → `user-profile`: the jetmicro service name. */
export function serviceNameOf(protoService: string): string {
  const short = protoService.split(".").at(-1)!;
  return short.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/([A-Z])([A-Z][a-z])/g, "$1-$2").toLowerCase();
}

/** Adds `POST /:service{pkg.Service}/:method` Connect unary routes. */
export function addConnectRoutes(app: Hono, options: { transport: Transport; namespace: string; timeoutMs: number; guard?: Guard }): void {
  app.post("/:service{[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+}/:method{[A-Za-z_][A-Za-z0-9_]*}", async (c) => {
    const protoService = c.req.param("service");
    const method = c.req.param("method");
    const contentType = (c.req.header("content-type") ?? "").split(";")[0]!.trim();
    if (contentType !== "application/json" && contentType !== "application/proto") {
      return connectError(new MicroError("unimplemented", `unsupported content type "${contentType}" (Connect unary: application/json or application/proto)`), 415);
    }
    const timeoutText = c.req.header(connectTimeoutHeader);
    const timeoutMs = timeoutText === undefined ? options.timeoutMs : Math.min(Number(timeoutText), options.timeoutMs);
    if (!(timeoutMs > 0)) return connectError(new MicroError("invalid_argument", `bad Connect-Timeout-Ms "${timeoutText?.slice(0, 40)}"`));
    const service = serviceNameOf(protoService);
    try {
      const subject = callSubject({ namespace: options.namespace, service, endpoint: `${protoService}/${method}` });
      const endpoint = `${protoService.split(".").at(-1)}.${method}`;
      const metadata = options.guard === undefined ? {} : await options.guard(c.req.raw, { namespace: options.namespace, service, endpoint });
      const h = requestHeaders({ contentType, timeoutMs, metadata });
      const body = new Uint8Array(await c.req.arrayBuffer());
      const reply = await options.transport.request(subject, body.length === 0 && contentType === "application/json" ? new TextEncoder().encode("{}") : body, h, Date.now() + timeoutMs);
      return new Response(reply.data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": contentType } });
    } catch (error) {
      const e = wasNotDelivered(error) ? new MicroError("unimplemented", `no service serves ${protoService}`) : MicroError.from(error);
      return connectError(e);
    }
  });
}

function connectError(error: MicroError, status = httpStatus(error.code)): Response {
  return new Response(JSON.stringify({ code: error.code, message: error.message }), { status, headers: { "content-type": "application/json" } });
}
