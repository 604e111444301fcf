/**
 * `GET /history/{user}?topics=a,b&limit=n&cursor=c&oldest=1&since=t&until=t` (t: epoch ms, `2h`
 * ago or ISO): a user's history, answered by the audit service (`Audit.History`), with a broker
 * only. With auth on, an identity may read its own history; anyone else's needs the rule
 * `history/{user}` (`history/*` for all), whatever it may call on the audit service itself.
 * @module
 */
import { type Context, Hono } from "hono";
import { assertTopic, MicroError } from "../runtime/mod.ts";
import { eventData } from "./event-json.ts";
import type { AuthTarget } from "./auth.ts";
import { gatewayTarget } from "./auth-rules.ts";
import { callJson } from "./call.ts";
import { eventUser } from "./edge-bounds.ts";
import { numberParam, timeParam } from "./events.ts";
import type { GatewayEnv, GatewayPart } from "./part.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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
      ...(c.req.query("since") ? { sinceMs: String(timeParam(c.req.query("since")!, "since")) } : {}),
      ...(c.req.query("until") ? { untilMs: String(timeParam(c.req.query("until")!, "until")) } : {}),
    };
    const reply = await callJson(deps.transport, {
      namespace: deps.namespace,
      service: "audit",
      endpoint: "Audit.History",
      body: encoder.encode(JSON.stringify(request)),
      timeoutMs: deps.timeoutMs,
      metadata: c.var.metadata,
      trace: c.var.trace,
    });
    return c.json(historyJson(reply));
  });
};

/** A history event as replay's events are: numeric `time`, `data` parsed (or `dataBase64`). */
interface AuditEventJson {
  id?: string;
  topic?: string;
  source?: string;
  sourceVersion?: string;
  timeMs?: string;
  user?: string;
  contentType?: string;
  data?: string;
}

/**
 * The audit service's reply (protobuf JSON: int64 as strings, bytes as base64) in the shape
 * of `/events/{filter}/replay`, so a client reads both with the same code.
 */
export function historyJson(reply: Uint8Array): { events: Record<string, unknown>[]; nextCursor: string } {
  let parsed: { events?: AuditEventJson[]; nextCursor?: string };
  try {
    parsed = JSON.parse(decoder.decode(reply));
  } catch (cause) {
    throw new MicroError("internal", "the audit service answered something that is not JSON", { cause });
  }
  const events = (parsed.events ?? []).map((e) => {
    const contentType = e.contentType ?? "";
    return {
      id: e.id ?? "", topic: e.topic ?? "", source: e.source ?? "", sourceVersion: e.sourceVersion ?? "", time: Number(e.timeMs ?? 0), user: e.user ?? "",
      contentType, ...eventData(contentType, base64Bytes(e.data ?? "")),
    };
  });
  return { events, nextCursor: parsed.nextCursor ?? "" };
}

function base64Bytes(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function topicsOf(c: Context): string[] {
  return c.req.query("topics")?.split(",").filter(Boolean) ?? [];
}
