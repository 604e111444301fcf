/**
 * `micro subscribe <filter>`: prints live events until Ctrl-C.
 * @module
 */
import { Argument, Command } from "effect/cli";
import { assertTopic } from "../../runtime/protocol/mod.ts";
import { onShutdownSignal } from "../../runtime/platform/signals.ts";
import { eventPrinter } from "../events-output.ts";
import { connection, connectionFlags, streamOutputFlag } from "../flags.ts";
import { paint, printError } from "../output.ts";
import { action, withSession } from "../session.ts";

export const subscribeCommand = Command.make("subscribe", {
  filter: Argument.String("filter").pipe(Argument.withDescription("topic or filter: customer.login, customer.>, *.login")),
  ...connectionFlags,
  output: streamOutputFlag,
}, (input) =>
  action("subscribe", async () => {
    assertTopic(input.filter, true);
    return withSession(connection(input), async (session) => {
      const broker = await session.broker();
      // json would only print at the end; live output is a line per event.
      const printer = eventPrinter(input.output === "json" ? "ndjson" : input.output);
      const stopped = new Promise<string>((resolve) => {
        const remove = onShutdownSignal((signal) => (remove(), resolve(signal)));
      });
      // Broadcast: this terminal sees every new event without taking any from the services.
      const subscription = await broker.subscribe(input.filter, (e) => printer.event(e), { service: "cli", broadcast: true, concurrency: 1 });
      printError(paint.dim(`subscribed to ${input.filter} in namespace "${session.settings.namespace}" (Ctrl-C to stop)`));
      await stopped;
      await subscription.stop();
    });
  }),
).pipe(
  Command.withDescription("Print events as they are published, until Ctrl-C"),
  Command.withExamples([
    { command: "micro subscribe 'customer.>'", description: "every customer event" },
    { command: "micro subscribe '*.login' --output ndjson | jq .user", description: "one JSON object per line" },
  ]),
);
