/**
 * `micro stream`: streaming endpoints need the streaming runtime, which this build lacks.
 * @module
 */
import { Argument, Command } from "effect/cli";
import { MicroError } from "../../errors/micro-error.ts";
import { action } from "../session.ts";

export const streamCommand = Command.make("stream", {
  service: Argument.String("service").pipe(Argument.withDescription("service name")),
  endpoint: Argument.String("endpoint").pipe(Argument.withDescription("a streaming endpoint, e.g. Counter.Count")),
  request: Argument.String("json").pipe(Argument.optional, Argument.withDescription("the request as JSON")),
}, () =>
  action("stream", async () => {
    throw new MicroError("unimplemented", "streaming endpoints need the streaming runtime, which this build of jetmicro does not include yet");
  }),
).pipe(
  Command.withDescription("Call a streaming endpoint and print each message (needs the streaming runtime)"),
  Command.withExamples([{ command: `micro stream counter Counter.Count '{"to":3}'`, description: "print each message of a server stream" }]),
);
