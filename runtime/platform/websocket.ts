/**
 * Which `upgradeWebSocket` the running platform has, chosen in one place: Hono's Bun adapter
 * on Bun, Hono's `@hono/node-ws` on `node:http` for Node and Deno. Either works only with
 * servers started by `serveHttp`, which wires the other half (Bun's `websocket` handler, the
 * `upgrade` event of Node's server).
 * @module
 */
import type { UpgradeWebSocket } from "hono/ws";
import { nodeUpgradeWebSocket } from "./node-websocket.ts";

export type { UpgradeWebSocket };

/** True on Bun, where `serveHttp` uses `Bun.serve`. */
export function isBun(): boolean {
  return (globalThis as { Bun?: unknown }).Bun !== undefined;
}

/**
 * The `upgradeWebSocket` for apps served by `serveHttp` on this runtime. Routes written with it
 * (`app.get("/ws", upgradeWebSocket((c) => ({ onMessage(e, ws) { ... } })))`) run unchanged
 * on Bun, Deno and Node.
 */
export async function platformUpgradeWebSocket(): Promise<UpgradeWebSocket> {
  // hono/bun touches the Bun global when it loads, so it is imported only on Bun.
  if (isBun()) return (await import("hono/bun")).upgradeWebSocket;
  return nodeUpgradeWebSocket as UpgradeWebSocket;
}
