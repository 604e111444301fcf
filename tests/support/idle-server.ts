/**
 * An app served by `serveHttp` with a one-second idle timeout: `/ok` answers at once,
 * `/feed/stream` is a server-sent event stream that says `hello` and then stays quiet until
 * `/emit` makes it say `later`; `/ws` is a WebSocket echoing text. It shows whether a runtime closes idle ordinary connections
 * while keeping quiet streams open. Run as a script it prints `listening <port>` and serves
 * until killed.
 * @module
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { serveHttp } from "../../runtime/platform/http-server.ts";
import { platformUpgradeWebSocket, type UpgradeWebSocket } from "../../runtime/platform/websocket.ts";

/** Idle timeout of the served app, in seconds. */
export const idleSeconds = 1;

/** The app; see the module comment. */
export function idleApp(upgradeWebSocket: UpgradeWebSocket): Hono {
  const listeners = new Set<() => void>();
  const app = new Hono();
  app.get("/ok", (c) => c.text("ok"));
  app.get("/ws", upgradeWebSocket(() => ({ onMessage: (event, ws) => ws.send(`echo: ${String(event.data)}`) })));
  app.get("/emit", (c) => {
    for (const listener of listeners) listener();
    return c.text(String(listeners.size));
  });
  app.get("/feed/stream", (c) =>
    streamSSE(c, async (stream) => {
      // Listening before the first write: a write resolves only once the runtime takes it.
      let listener!: () => void;
      const emitted = new Promise<void>((resolve) => (listener = resolve));
      listeners.add(listener);
      stream.onAbort(listener);
      try {
        await stream.writeSSE({ data: "hello" });
        await emitted;
      } finally {
        listeners.delete(listener);
      }
      await stream.writeSSE({ data: "later" });
    }));
  return app;
}

// Node 20 has no import.meta.main.
if (process.argv[1]?.endsWith("idle-server.ts")) {
  const server = await serveHttp(idleApp(await platformUpgradeWebSocket()).fetch, { port: 0, idleTimeoutSeconds: idleSeconds });
  console.log(`listening ${server.port}`);
}
