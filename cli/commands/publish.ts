/**
 * `micro publish <topic> <json>`: stores one event in JetStream.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { assertTopic } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson } from "../output.ts";
import { action, opt, parseJsonArgument, remote, withSession } from "../session.ts";

export const publishCommand = Command.make("publish", {
  topic: Argument.String("topic").pipe(Argument.withDescription("event topic, e.g. customer.login")),
  data: Argument.String("json").pipe(Argument.withDescription("the event payload as JSON")),
  user: Flag.String("user").pipe(Flag.optional, Flag.withAlias("u"), Flag.withDescription("the user the event is about (the audit trail indexes it)")),
  id: Flag.String("id").pipe(Flag.optional, Flag.withDescription("event id; the same id is stored once (default: a new id)")),
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("publish", async () => {
    assertTopic(input.topic, false);
    parseJsonArgument("the event", input.data);
    return withSession(connection(input), async (session) => {
      const broker = await session.broker();
      const id = opt(input.id);
      const result = await remote(broker.publish(input.topic, new TextEncoder().encode(input.data), {
        contentType: "application/json", source: "cli", user: opt(input.user) ?? "", ...(id === undefined ? {} : { id }),
      }));
      if (input.output === "json") printJson(result);
      else print(`${result.duplicate ? paint.yellow("duplicate (already stored)") : paint.green("published")} ${input.topic} id=${result.id} sequence=${result.sequence}`);
    });
  }),
).pipe(
  Command.withDescription("Publish an event (stored in JetStream before this returns)"),
  Command.withExamples([
    { command: `micro publish customer.login '{"ip":"10.0.0.1"}' --user 42`, description: "an event about user 42" },
  ]),
);
