/**
 * `/web/{name}/...`: web services (go-micro's `micro web`) behind the gateway, found in the
 * registry, HTTP and WebSocket alike. An unknown name is a 404 error, never a hang.
 * @module
 */
import type { Context, Hono } from "hono";
import type { UpgradeWebSocket } from "hono/ws";
import { MicroError, type Registry } from "../../runtime/mod.ts";
import { forwardedHeaders, proxyHttp } from "./http-proxy.ts";
import { upstreamUrl, webTarget } from "./target.ts";
import { webSocketProxyEvents } from "./websocket-proxy.ts";

/** Web proxy settings. */
export interface WebRoutesOptions {
  readonly registry: Registry;
  readonly namespace: string;
  /** Without it, WebSocket requests get 501. */
  readonly upgradeWebSocket?: UpgradeWebSocket;
  /** Request headers kept from the app: the gateway's own credentials when auth is on. */
  readonly dropHeaders?: readonly string[];
}

/** Adds the `/web/{name}/...` proxy to `app`. */
export function addWebRoutes(app: Hono, options: WebRoutesOptions): void {
  // Relative links in the app's pages resolve under /web/{name}/ only with the slash.
  app.all("/web/:service", (c) => c.redirect(`/web/${encodeURIComponent(c.req.param("service"))}/${new URL(c.req.url).search}`, 308));

  app.all("/web/:service/*", async (c) => {
    const service = c.req.param("service");
    const base = await webTarget(options.registry, options.namespace, service);
    const incoming = new URL(c.req.url);
    const prefix = `/web/${service}`;
    const path = incoming.pathname.slice(incoming.pathname.indexOf("/", prefix.length)) || "/";
    const upstream = upstreamUrl(base, path, incoming.search);
    const proxied = { request: c.req.raw, upstream, prefix, clientAddress: clientAddress(c), dropHeaders: options.dropHeaders ?? [] };

    if (c.req.header("upgrade")?.toLowerCase() === "websocket") {
      if (options.upgradeWebSocket === undefined) throw new MicroError("unimplemented", "this gateway serves no WebSockets (no upgradeWebSocket was given)");
      upstream.protocol = upstream.protocol === "https:" ? "wss:" : "ws:";
      const protocols = c.req.header("sec-websocket-protocol")?.split(",").map((p) => p.trim()).filter(Boolean) ?? [];
      return options.upgradeWebSocket(c, webSocketProxyEvents(upstream, protocols, handshakeHeaders(proxied)));
    }
    return proxyHttp(proxied);
  });
}

/** The client's headers for the app's handshake, less those the WebSocket client makes itself. */
function handshakeHeaders(proxied: Parameters<typeof forwardedHeaders>[0]): Record<string, string> {
  const out: Record<string, string> = {};
  forwardedHeaders(proxied).forEach((value, key) => {
    if (!key.startsWith("sec-websocket-") && key !== "accept-encoding" && key !== "content-length") out[key] = value;
  });
  return out;
}

/** The peer address where the runtime tells it (Bun's server is the env there). */
function clientAddress(c: Context): string | undefined {
  const server = c.env as { requestIP?: (r: Request) => { address: string } | null } | undefined;
  try {
    return typeof server?.requestIP === "function" ? server.requestIP(c.req.raw)?.address : undefined;
  } catch {
    return undefined;
  }
}
