/**
 * What the gateway can tell of a server WebSocket's unsent bytes, on every platform Hono's
 * adapters give it: the one place that reads the runtime's socket under `WSContext.raw`.
 * @module
 */
import type { WSContext } from "hono/ws";

/** Unsent bytes of the socket where the platform tells (Bun, `ws` on Node), else 0. */
export function bufferedAmount(ws: WSContext): number {
  const raw = ws.raw as { getBufferedAmount?: () => number; bufferedAmount?: number } | undefined;
  return raw?.getBufferedAmount?.() ?? raw?.bufferedAmount ?? 0;
}

/**
 * Ends the socket at once, without the closing handshake where the platform can (Bun, `ws`):
 * a close frame queued behind bytes the peer does not read would never be sent, and the bytes
 * would stay in memory. Elsewhere (Deno) a close with `code` and `reason`.
 */
export function dropSocket(ws: WSContext, code: number, reason: string): void {
  const raw = ws.raw as { terminate?: () => void } | undefined;
  if (typeof raw?.terminate === "function") raw.terminate();
  else ws.close(code, reason);
}
