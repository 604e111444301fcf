/**
 * `/web/{name}/...`: web services (go-micro's `micro web`) behind the gateway, found in the
 * registry, HTTP and WebSocket alike. An unknown name is a 404 error, never a hang.
 * @module
 */
import { type Context, Hono } from "hono";
import { MicroError } from "../../runtime/mod.ts";
import { peerAddress } from "../../runtime/platform/http-server.ts";
import { assertToken, shown } from "../../runtime/protocol/mod.ts";
import type { AuthTarget } from "../auth.ts";
import { gatewayTarget } from "../auth-rules.ts";
import type { GatewayEnv, GatewayPart } from "../part.ts";
import { forwardedHeaders, proxyHttp } from "./http-proxy.ts";
import { upstreamUrl, webTarget } from "./target.ts";
import { webSocketProxyEvents } from "./websocket-proxy.ts";

/**
 * With a registry: `/web/{name}/...`, behind auth as `web/{name}` (the pseudo-service `web`,
 * the web service's name as endpoint).
 */
export const webPart: GatewayPart = (deps) => {
  const registry = deps.registry;
  if (registry === undefined) return undefined;
  const webApp = (c: Context<GatewayEnv>): AuthTarget => {
    const service = c.req.param("service")!;
    // The name becomes part of a registry key: a hostile one is refused before the rules or NATS see it.
    assertToken("web service", service);
    return gatewayTarget("web", service);
  };
  const app = new Hono<GatewayEnv>();
  // Relative links in the app's pages resolve under /web/{name}/ only with the slash.
  app.all("/web/:service", deps.authorize(webApp), (c) => c.redirect(`/web/${encodeURIComponent(c.req.param("service")!)}/${new URL(c.req.url).search}`, 308));

  app.all("/web/:service/*", deps.authorize(webApp), async (c) => {
    const service = c.req.param("service")!;
    const base = await webTarget(registry, deps.namespace, service);
    const incoming = new URL(c.req.url);
    const prefix = `/web/${service}`;
    const path = incoming.pathname.slice(incoming.pathname.indexOf("/", prefix.length)) || "/";
    const upstream = upstreamUrl(base, path, incoming.search);
    const proxied = { request: c.req.raw, upstream, prefix, clientAddress: peerAddress(c.req.raw, c.env), dropHeaders: deps.credentialHeaders };

    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      if (deps.upgradeWebSocket === undefined) throw new MicroError("unimplemented", "this gateway serves no WebSockets (no upgradeWebSocket was given)");
      upstream.protocol = upstream.protocol === "https:" ? "wss:" : "ws:";
      const protocols = offeredProtocols(c.req.header("sec-websocket-protocol"));
      return deps.upgradeWebSocket(c, webSocketProxyEvents(upstream, protocols, handshakeHeaders(proxied)));
    }
    return proxyHttp(proxied);
  });
  return app;
};

// RFC 6455 4.1: each subprotocol is a token (RFC 9110 5.6.2).
const protocolToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The subprotocols the client offers, checked before the upgrade: the WebSocket client that
 * opens the app's socket throws on one that is not a token or offered twice, which left the
 * client's socket open for ever (and on Node, an unhandled rejection ends the process).
 */
function offeredProtocols(header: string | undefined): string[] {
  const protocols = header?.split(",").map((p) => p.trim()).filter(Boolean) ?? [];
  const bad = (why: string) => new MicroError("invalid_argument", `Sec-WebSocket-Protocol ${why}`, { detail: "sec-websocket-protocol" });
  for (const p of protocols) if (!protocolToken.test(p)) throw bad(`"${shown(p)}" is not a token`);
  if (new Set(protocols).size !== protocols.length) throw bad("names a subprotocol twice");
  return protocols;
}

/** The client's headers for the app's handshake, less those the WebSocket client makes itself. */
function handshakeHeaders(proxied: Parameters<typeof forwardedHeaders>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  forwardedHeaders(proxied).forEach((value, key) => {
    if (!key.startsWith("sec-websocket-") && key !== "accept-encoding" && key !== "content-length") out[key] = value;
  });
  return out;
}
