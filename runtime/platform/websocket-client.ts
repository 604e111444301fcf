/**
 * A WebSocket client on every runtime: the global `WebSocket` on Bun, Deno and Node 22+ (each
 * takes `{protocols, headers}` as a second argument, beyond the browser API), the `ws`
 * package's (the same browser-style API) on Node 20.
 * @module
 */

/** Opens a client WebSocket to `url` offering `protocols`, with extra handshake `headers`. */
export async function openWebSocket(url: string | URL, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<WebSocket> {
  const protocols = options.protocols ?? [];
  const headers = options.headers ?? {};
  if (typeof globalThis.WebSocket === "function") {
    return new WebSocket(url, { protocols, headers } as unknown as string[]);
  }
  const { WebSocket: NodeWebSocket } = await import("ws");
  return new NodeWebSocket(String(url), protocols, { headers }) as unknown as WebSocket;
}
