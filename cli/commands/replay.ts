/**
 * `micro replay <filter> --since 2h`: stored events in order, with progress on stderr.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { assertTopic } from "../../runtime/protocol/mod.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { eventPrinter } from "../events-output.ts";
import { connection, connectionFlags, streamOutputFlag } from "../flags.ts";
import { paint, printError, progress } from "../output.ts";
import { action, opt, remote, withSession } from "../session.ts";
import { parseTimePoint } from "../../runtime/config/time.ts";

export const replayCommand = Command.make("replay", {
  filter: Argument.String("filter").pipe(Argument.withDescription("topic or filter: customer.login, customer.>, *.login")),
  since: Flag.String("since").pipe(Flag.optional, Flag.withDescription("from this time: 2h (ago), 2026-11-29T10:00:00Z or epoch ms (default: the beginning)")),
  until: Flag.String("until").pipe(Flag.optional, Flag.withDescription("before this time (same forms; default: now)")),
  user: Flag.String("user").pipe(Flag.optional, Flag.withAlias("u"), Flag.withDescription("only events about this user")),
  limit: Flag.Int("limit").pipe(Flag.optional, Flag.withDescription("stop after this many events")),
  ...connectionFlags,
  output: streamOutputFlag,
}, (input) =>
  action("replay", async () => {
    assertTopic(input.filter, true);
    const now = Date.now();
    const sinceText = opt(input.since);
    const untilText = opt(input.until);
    const since = sinceText === undefined ? undefined : parseTimePoint("--since", sinceText, now);
    const until = untilText === undefined ? undefined : parseTimePoint("--until", untilText, now);
    if (since !== undefined && until !== undefined && until <= since) throw new MicroError("invalid_argument", "--until must be after --since", { detail: "until" });
    const limit = opt(input.limit);
    if (limit !== undefined && limit < 1) throw new MicroError("invalid_argument", `--limit must be at least 1, got ${limit}`, { detail: "limit" });
    const user = opt(input.user);
    return withSession(connection(input), async (session) => {
      const broker = await session.broker();
      const printer = eventPrinter(input.output);
      const shown = progress();
      let read = 0;
      let printed = 0;
      await remote((async () => {
        for await (const e of broker.replay(input.filter, { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) })) {
          read++;
          if (user === undefined || e.user === user) {
            // The progress line shares the terminal with the events: clear it before each one.
            shown.clear();
            printer.event(e);
            if (++printed === limit) break;
          }
          shown.update(`replaying ${input.filter}: ${read} read, ${printed} shown (sequence ${e.sequence})`);
        }
      })().finally(() => shown.done()));
      printer.end();
      if (printed === 0 && input.output === "text") printError(paint.dim(`no events in ${input.filter}${user === undefined ? "" : ` about user ${user}`}${since === undefined && until === undefined ? "" : " in that time"}`));
    });
  }),
).pipe(
  Command.withDescription("Print stored events in order (history), with progress on stderr"),
  Command.withExamples([
    { command: "micro replay 'customer.>' --since 2h", description: "the last two hours of customer events" },
    { command: "micro replay 'customer.>' --since 2026-11-28 --until 2026-11-29 --user 42 --output ndjson", description: "one user's events of a day, for scripts" },
  ]),
);
