/**
 * `micro events`: the namespace's event topics with how many events each holds, every service's
 * durable consumer with its lag (pending events), redeliveries and ack wait, and the dead letters
 * waiting per service: JetStream's own numbers.
 * @module
 */
import { Command } from "effect/cli";
import { eventOverview } from "../../runtime/broker/inspect.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, withSession } from "../session.ts";

const time = (ms: number | undefined) => (ms === undefined ? "-" : new Date(ms).toISOString());

export const eventsCommand = Command.make("events", {
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("events", async () =>
    withSession(connection(input), async (session) => {
      const overview = await eventOverview(session.nc, { namespace: session.settings.namespace });
      if (input.output === "json") return printJson(overview);
      if (overview.topics.length === 0) print(paint.dim(`no events stored in namespace "${overview.namespace}"`));
      else print(table(["TOPIC", "EVENTS"], overview.topics.map((t) => [paint.cyan(t.topic), String(t.messages)])));
      print("");
      if (overview.consumers.length === 0) print(paint.dim("no durable consumers (no service subscribes)"));
      else {
        print(table(["CONSUMER", "FILTER", "LAG", "ACK PENDING", "REDELIVERED", "ACK WAIT", "LAST DELIVERED"], overview.consumers.map((c) => [
          c.name, paint.cyan(c.filter), c.pending > 0 ? paint.yellow(String(c.pending)) : "0", String(c.ackPending),
          c.redelivered > 0 ? paint.yellow(String(c.redelivered)) : "0", `${c.ackWaitMs / 1000}s`, time(c.lastDelivered),
        ])));
      }
      if (overview.deadLetters.length > 0) {
        print("");
        print(table(["SERVICE", "DEAD LETTERS"], overview.deadLetters.map((d) => [paint.cyan(d.service), paint.red(String(d.letters))])));
      }
      if (overview.truncated) print(paint.dim("(more topics or consumers exist than are shown)"));
    })),
).pipe(
  Command.withDescription("Event topics with their counts, consumers with their lag and redeliveries, dead letters per service"),
  Command.withExamples([
    { command: "micro events", description: "what is stored, who is behind" },
    { command: "micro events -o json", description: "the same for scripts and alerts" },
  ]),
);
