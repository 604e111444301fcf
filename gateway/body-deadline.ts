/**
 * A deadline for request bodies alone, for a server whose calls may take as long as their
 * callers ask (the standalone sidecar: `X-Micro-Timeout` up to days): a body still arriving
 * when it passes is a 408, the client's doing, and its connection is closed (`errors.ts`); a
 * request whose body has arrived is left to take its time. The gateway needs none: its time
 * limit (`edge.ts`) tells the two apart the same way.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { bodyStalled, bodyStillArriving } from "./body-framing.ts";

/** The middleware: `ms` after a request came in, its body must have arrived (see the module comment). */
export function bodyDeadline(ms: number): MiddlewareHandler {
  return async function checkBodyDeadline(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Settles only for a body that stopped arriving; otherwise the route's answer wins the race.
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (bodyStillArriving(c.req.raw)) reject(bodyStalled(ms));
      }, ms);
    });
    try {
      await Promise.race([next(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  };
}
