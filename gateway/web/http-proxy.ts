/**
 * The HTTP half of the `/web/{name}/...` proxy: the request goes to the app with the prefix
 * stripped and `X-Forwarded-*` set, both bodies streamed, never buffered.
 * @module
 */
import { MicroError } from "../../runtime/mod.ts";
import { bodyTooLargeIn } from "../errors.ts";

// Hop-by-hop headers belong to one connection, not to the request (RFC 9110 7.6.1).
const hopByHop = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authorization", "proxy-authenticate"];

/**
 * A copy of `headers` less the hop-by-hop ones: the fixed list and those its own `Connection`
 * names (RFC 9110 7.6.1), the request's going up as the app's answer's coming back.
 */
function withoutHopByHop(original: Headers): Headers {
  const headers = new Headers(original);
  const listed = original.get("connection")?.split(",").map((s) => s.trim().toLowerCase()) ?? [];
  for (const name of [...hopByHop, ...listed]) if (name) headers.delete(name);
  return headers;
}

/** What the proxy knows about the incoming request. */
export interface ProxyRequest {
  readonly request: Request;
  readonly upstream: URL;
  /** `/web/{name}`, sent as `X-Forwarded-Prefix` so the app can build its own links. */
  readonly prefix: string;
  readonly clientAddress?: string;
  /** Headers not to send upstream (lower-case), such as the gateway's credentials. */
  readonly dropHeaders?: readonly string[];
}

/** The headers to send upstream: the client's, less hop-by-hop ones, plus `X-Forwarded-*`. */
export function forwardedHeaders(p: ProxyRequest): Headers {
  const incoming = new URL(p.request.url);
  const headers = withoutHopByHop(p.request.headers);
  headers.delete("host");
  for (const name of p.dropHeaders ?? []) headers.delete(name);
  // The fetch below would decode compressed bodies yet keep Content-Encoding: ask for plain ones.
  headers.set("accept-encoding", "identity");
  const priorFor = p.request.headers.get("x-forwarded-for");
  if (p.clientAddress) headers.set("x-forwarded-for", priorFor ? `${priorFor}, ${p.clientAddress}` : p.clientAddress);
  // Single-valued claims an app may take as the client's address or port: this gateway's word
  // or none, never the caller's. (`Expect` was answered by this server already.)
  headers.delete("x-real-ip");
  headers.delete("x-forwarded-port");
  headers.delete("expect");
  if (p.clientAddress) headers.set("x-real-ip", p.clientAddress);
  // The host as this gateway saw it (the Host its edge checked), never the caller's word: apps
  // build links and redirects from it, and a forged X-Forwarded-Host (or the same in
  // `Forwarded`) would put another site in pages a cache then serves to everyone. The scheme
  // is the caller's only when it is one of the two (a TLS-terminating proxy in front says
  // `https`, and an app told `http` there would redirect for ever); the worst a forged one can
  // do is name the other of them.
  headers.delete("forwarded");
  headers.set("x-forwarded-host", incoming.host);
  const proto = p.request.headers.get("x-forwarded-proto")?.trim().toLowerCase();
  headers.set("x-forwarded-proto", proto === "http" || proto === "https" ? proto : incoming.protocol.replace(":", ""));
  headers.set("x-forwarded-prefix", p.prefix);
  return headers;
}

/** Sends the request to the app and returns its answer as is; an unreachable app is `unavailable` (503). */
export async function proxyHttp(p: ProxyRequest): Promise<Response> {
  const method = p.request.method;
  const hasBody = method !== "GET" && method !== "HEAD" && p.request.body !== null;
  let response: Response;
  try {
    response = await fetch(p.upstream, {
      method,
      headers: forwardedHeaders(p),
      redirect: "manual",
      signal: p.request.signal,
      ...(hasBody ? { body: p.request.body, duplex: "half" } : {}),
    } as RequestInit);
  } catch (error) {
    // The caller's body passed the size limit while it streamed to the app: the caller's fault (413).
    const tooLarge = bodyTooLargeIn(error);
    if (tooLarge !== undefined) throw tooLarge;
    throw new MicroError("unavailable", `web service at ${p.upstream.origin} did not answer: ${(error as Error).message}`);
  }
  const headers = withoutHopByHop(response.headers);
  // The body is re-framed by this server; a stale length or encoding would corrupt it.
  headers.delete("content-length");
  headers.delete("content-encoding");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
