/**
 * `micro audit <user>`: a user's history from the audit service (`Audit.History`).
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { callJson } from "../../runtime/client/call-json.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { connection, connectionFlags, streamOutputFlag } from "../flags.ts";
import { paint, print, printJson } from "../output.ts";
import { eventLine } from "../events-output.ts";
import { action, opt, remote, withSession } from "../session.ts";
import { parseTimePoint } from "../../runtime/config/time.ts";

interface AuditEventJson {
  id: string;
  topic: string;
  source?: string;
  timeMs?: string;
  user?: string;
  contentType?: string;
  data?: string;
}

/** An audit event with its payload decoded (the service returns bytes as base64). */
function readable(e: AuditEventJson): Record<string, unknown> {
  const bytes = Uint8Array.from(atob(e.data ?? ""), (c) => c.charCodeAt(0));
  let data: unknown;
  const isJson = (e.contentType ?? "").startsWith("application/json");
  try {
    data = isJson ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
  } catch {
    data = undefined;
  }
  return {
    id: e.id, topic: e.topic, source: e.source ?? "", time: Number(e.timeMs ?? 0), user: e.user ?? "", contentType: e.contentType ?? "",
    ...(data === undefined ? { dataBase64: e.data ?? "" } : { data }),
  };
}

export const auditCommand = Command.make("audit", {
  user: Argument.String("user").pipe(Argument.withDescription("the user whose history to show")),
  topics: Flag.String("topics").pipe(Flag.optional, Flag.withDescription("only these topics, comma-separated (a prefix ends in .>)")),
  since: Flag.String("since").pipe(Flag.optional, Flag.withDescription("from this time: 2h (ago), an ISO time or epoch ms")),
  until: Flag.String("until").pipe(Flag.optional, Flag.withDescription("before this time")),
  limit: Flag.Int("limit").pipe(Flag.withDefault(50), Flag.withDescription("how many events (newest first), at most 1000")),
  oldest: Flag.Boolean("oldest-first").pipe(Flag.withDefault(false), Flag.withDescription("oldest events first")),
  ...connectionFlags,
  output: streamOutputFlag,
}, (input) =>
  action("audit", async () => {
    if (input.limit < 1 || input.limit > 1000) throw new MicroError("invalid_argument", `--limit must be 1..1000, got ${input.limit}`, { detail: "limit" });
    const since = opt(input.since);
    const until = opt(input.until);
    const request = {
      user: input.user,
      limit: input.limit,
      oldestFirst: input.oldest,
      topics: opt(input.topics)?.split(",").filter(Boolean) ?? [],
      ...(since === undefined ? {} : { sinceMs: String(parseTimePoint("--since", since)) }),
      ...(until === undefined ? {} : { untilMs: String(parseTimePoint("--until", until)) }),
    };
    return withSession(connection(input), async (session) => {
      const reply = (await remote(callJson(session.transport, {
        namespace: session.settings.namespace, service: "audit", endpoint: "Audit.History", request, timeoutMs: 10_000,
      }, await session.discovery()).catch((error: unknown) => {
        // History lives in the audit service, not in the CLI: say which service is missing.
        const e = MicroError.from(error);
        if (e.code !== "unavailable" && e.code !== "not_found") throw e;
        throw new MicroError("unavailable", `the audit service is not running in namespace "${session.settings.namespace}" (micro run starts services/audit.ts; or see micro replay --user ${input.user})`, { detail: "audit" });
      }))) as { events?: AuditEventJson[]; nextCursor?: string };
      const events = (reply.events ?? []).map(readable);
      if (input.output === "json") return printJson(events);
      if (input.output === "ndjson") return events.forEach((e) => printJson(e, true));
      if (events.length === 0) return print(paint.dim(`no events about user ${input.user}`));
      for (const e of events) print(eventLine(e));
      if (reply.nextCursor) print(paint.dim(`(more: raise --limit, or narrow with --since/--until/--topics)`));
    });
  }),
).pipe(
  Command.withDescription("Show a user's history from the audit service (newest first)"),
  Command.withExamples([
    { command: "micro audit 42", description: "the last 50 events about user 42" },
    { command: "micro audit 42 --topics 'customer.>' --since 1d --output json", description: "a day of customer events as JSON" },
  ]),
);
