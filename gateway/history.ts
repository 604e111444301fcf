/**
 * `GET /history/{user}?topics=a,b&limit=n&cursor=c&oldest=1&since=ms&until=ms`: a user's
 * history, answered by the audit service (`Audit.History`), with a broker only. With auth on,
 * an identity may read its own history; anyone else's needs the rule `history/{user}`
 * (`history/*` for all), whatever it may call on the audit service itself.
 * @module
 */
import { type Context, Hono } from "hono";
import { assertTopic } from "../runtime/mod.ts";
import type { AuthTarget } from "./auth.ts";
import { gatewayTarget } from "./auth-rules.ts";
import { callJson } from "./call.ts";
import { eventUser } from "./edge-bounds.ts";
import { numberParam } from "./events.ts";
import type { GatewayEnv, GatewayPart } from "./part.ts";

const encoder = new TextEncoder();

/** The history route. */
export const historyPart: GatewayPart = (deps) => {
  if (deps.broker === undefined) return undefined;
  const history = (c: Context<GatewayEnv>): AuthTarget => {
    // The audit service indexes by user: bounded here like the X-Micro-User of a publish.
    eventUser(c.req.param("user"), "user");
    for (const topic of topicsOf(c)) assertTopic(topic, true);
    // The gateway's own target: an identity reads its own history, others' only with a rule `history/{user}`.
    return gatewayTarget("history", c.req.param("user")!);
  };
  return new Hono<GatewayEnv>().get("/history/:user", deps.authorize(history), async (c) => {
    const request = {
      user: c.req.param("user"),
      limit: numberParam(c.req.query("limit"), "limit", 50),
      cursor: c.req.query("cursor") ?? "",
      topics: topicsOf(c),
      oldestFirst: c.req.query("oldest") === "1" || c.req.query("oldest") === "true",
      ...(c.req.query("since") ? { sinceMs: String(numberParam(c.req.query("since"), "since", 0)) } : {}),
      ...(c.req.query("until") ? { untilMs: String(numberParam(c.req.query("until"), "until", 0)) } : {}),
    };
    const reply = await callJson(deps.transport, {
      namespace: deps.namespace,
      service: "audit",
      endpoint: "Audit.History",
      body: encoder.encode(JSON.stringify(request)),
      timeoutMs: deps.timeoutMs,
      metadata: c.var.metadata,
    });
    return c.body(reply as Uint8Array<ArrayBuffer>, 200, { "content-type": "application/json" });
  });
};

function topicsOf(c: Context): string[] {
  return c.req.query("topics")?.split(",").filter(Boolean) ?? [];
}
