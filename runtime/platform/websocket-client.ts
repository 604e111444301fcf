/**
 * A WebSocket client on every runtime: the global `WebSocket` on Bun, Deno and Node 22+, the
 * `ws` package's (the same browser-style API) on Node 20.
 * @module
 */

/** Opens a client WebSocket to `url` offering `protocols`; listen with `onopen`, `onmessage`, ... */
export async function openWebSocket(url: string | URL, protocols: string[] = []): Promise<WebSocket> {
  if (typeof globalThis.WebSocket === "function") return new WebSocket(url, protocols);
  const { WebSocket: NodeWebSocket } = await import("ws");
  return new NodeWebSocket(String(url), protocols) as unknown as WebSocket;
}
