/**
 * `micro dlq list|show|redrive <service>`: the events a service failed to handle `maxDeliveries`
 * times (its dead letters), one letter's data, and sending them back to that service alone.
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import type { DeadLetter } from "../../runtime/broker/types.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { eventJson } from "../../gateway/event-json.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, opt, withSession } from "../session.ts";

/** The most letters `list` prints unless `--limit` says otherwise: a DLQ may hold millions. */
const defaultLimit = 100;
/** A hard bound on `--limit`, so one command never holds an unbounded list in memory. */
const maxLimit = 10_000;

/** A dead letter as JSON: the event's JSON form plus why and how often it failed. */
export function deadLetterJson(letter: DeadLetter): Record<string, unknown> {
  return { deadLetterSequence: letter.deadLetterSequence, deliveries: letter.deliveries, error: letter.error, ...eventJson(letter) };
}

const service = Argument.String("service").pipe(Argument.withDescription("the service whose dead letters, e.g. billing"));

const listCommand = Command.make("list", {
  service,
  limit: Flag.Int("limit").pipe(Flag.optional, Flag.withDescription(`show at most this many, oldest first (default ${defaultLimit})`)),
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("dlq list", async () => {
    assertToken("service", input.service);
    const limit = opt(input.limit) ?? defaultLimit;
    if (limit < 1 || limit > maxLimit) throw new MicroError("invalid_argument", `--limit must be between 1 and ${maxLimit}, got ${limit}`, { detail: "limit" });
    return withSession(connection(input), async (session) => {
      const broker = await session.broker();
      const letters: DeadLetter[] = [];
      for await (const letter of broker.deadLetters(input.service)) {
        letters.push(letter);
        if (letters.length === limit) break;
      }
      if (input.output === "json") return printJson(letters.map(deadLetterJson));
      if (letters.length === 0) return print(paint.dim(`no dead letters for ${input.service}`));
      print(table(["SEQ", "TIME", "TOPIC", "DELIVERIES", "ERROR"], letters.map((l) => [
        String(l.deadLetterSequence), new Date(l.time).toISOString(), paint.cyan(l.topic), String(l.deliveries), paint.red(l.error),
      ])));
    });
  }),
).pipe(Command.withDescription("List a service's dead letters: time, topic, deliveries and the last error"));

const showCommand = Command.make("show", {
  service,
  sequence: Argument.Int("seq").pipe(Argument.withDescription("the letter's SEQ, as `micro dlq list` shows it")),
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("dlq show", async () => {
    assertToken("service", input.service);
    if (input.sequence < 1) throw new MicroError("invalid_argument", `seq must be at least 1, got ${input.sequence}`, { detail: "seq" });
    return withSession(connection(input), async (session) => {
      const broker = await session.broker();
      // Read through the service's letters: a sequence of another service's letter is not found here.
      let found: DeadLetter | undefined;
      for await (const letter of broker.deadLetters(input.service)) {
        if (letter.deadLetterSequence === input.sequence) found = letter;
        if (letter.deadLetterSequence >= input.sequence) break;
      }
      if (found === undefined) throw new MicroError("not_found", `${input.service} has no dead letter ${input.sequence} (see: micro dlq list ${input.service})`, { detail: String(input.sequence) });
      const json = deadLetterJson(found);
      if (input.output === "json") return printJson(json);
      const { data, dataBase64, ...head } = json;
      for (const [key, value] of Object.entries(head)) print(`${paint.bold(key.padEnd(20))}${key === "time" ? new Date(Number(value)).toISOString() : typeof value === "string" ? value : JSON.stringify(value)}`);
      print(paint.bold("data"));
      print(data !== undefined ? JSON.stringify(data, null, 2) : `(base64) ${String(dataBase64 ?? "")}`);
    });
  }),
).pipe(Command.withDescription("Print one dead letter: its envelope, error and data"));

const redriveCommand = Command.make("redrive", {
  service,
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("dlq redrive", async () => {
    assertToken("service", input.service);
    return withSession(connection(input), async (session) => {
      const count = await (await session.broker()).redrive(input.service);
      if (input.output === "json") return printJson({ service: input.service, redriven: count });
      print(count === 0 ? paint.dim(`no dead letters for ${input.service}`) : `redrove ${count} dead letter${count === 1 ? "" : "s"} to ${paint.cyan(input.service)}`);
    });
  }),
).pipe(Command.withDescription("Send a service's dead letters back to it (only to the subscription that failed them); prints how many"));

export const dlqCommand = Command.make("dlq").pipe(
  Command.withDescription("Dead letters: events a service failed to handle, listed, shown and redriven"),
  Command.withSubcommands([listCommand, showCommand, redriveCommand]),
  Command.withExamples([
    { command: "micro dlq list billing", description: "billing's dead letters, oldest first" },
    { command: "micro dlq show billing 12", description: "one letter with its data" },
    { command: "micro dlq redrive billing", description: "hand them back to billing once the bug is fixed" },
  ]),
);
