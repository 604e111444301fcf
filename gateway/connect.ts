/**
 * The Connect unary protocol (connectrpc.com), so clients made with `@connectrpc/connect`
 * call jetmicro services unchanged: `POST /{package.Service}/{Method}` with
 * `application/json` or `application/proto`, errors as Connect error JSON.
 * @module
 */
import type { Hono } from "hono";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { MicroError, type Transport } from "../runtime/mod.ts";
import { wasNotDelivered } from "../runtime/protocol/mod.ts";
import type { Guard } from "./guard.ts";

/** Connect's HTTP status for each code (from the Connect protocol specification). */
const connectStatus: Record<string, number> = {
  canceled: 499, unknown: 500, invalid_argument: 400, deadline_exceeded: 504, not_found: 404, already_exists: 409,
  permission_denied: 403, resource_exhausted: 429, failed_precondition: 400, aborted: 409, out_of_range: 400,
  unimplemented: 501, internal: 500, unavailable: 503, data_loss: 500, unauthenticated: 401,
};

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
    const timeoutHeader = c.req.header("connect-timeout-ms");
    const timeoutMs = timeoutHeader === undefined ? options.timeoutMs : Math.min(Number(timeoutHeader), options.timeoutMs);
    if (!(timeoutMs > 0)) return connectError(new MicroError("invalid_argument", `bad Connect-Timeout-Ms "${timeoutHeader}"`));
    const h = natsHeaders();
    h.set("Content-Type", contentType);
    h.set("Micro-Timeout", String(timeoutMs));
    const service = serviceNameOf(protoService);
    const subject = `${options.namespace}.srv.${service}.${protoService}/${method}`;
    try {
      const endpoint = `${protoService.split(".").at(-1)}.${method}`;
      const metadata = options.guard === undefined ? {} : await options.guard(c.req.raw, { namespace: options.namespace, service, endpoint });
      for (const [k, v] of Object.entries(metadata)) h.set(`Micro-Meta-${k}`, v);
      const body = new Uint8Array(await c.req.arrayBuffer());
      const reply = await options.transport.request(subject, body.length === 0 && contentType === "application/json" ? new TextEncoder().encode("{}") : body, h, Date.now() + timeoutMs);
      return new Response(reply.data as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-type": contentType } });
    } catch (error) {
      const e = wasNotDelivered(error) ? new MicroError("unimplemented", `no service serves ${protoService}`) : MicroError.from(error);
      return connectError(e);
    }
  });
}

function connectError(error: MicroError, status = connectStatus[error.code] ?? 500): Response {
  return new Response(JSON.stringify({ code: error.code, message: error.message }), { status, headers: { "content-type": "application/json" } });
}
