/**
 * `micro actors <service>`: for a keyed actor type, each node's shards and the keys active
 * there with their mailbox depth (`listActors` over `$MICRO.ACTORS`).
 * @module
 */
import { Argument, Command } from "effect/cli";
import { actorKeyMetadata } from "../../runtime/actor/define.ts";
import { listActors } from "../../runtime/actor/status.ts";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, withSession } from "../session.ts";
import { parseDuration } from "../../runtime/config/time.ts";
import { waitFlag } from "./health.ts";
import { shardRanges } from "../../runtime/actor/shard-ranges.ts";

export const actorsCommand = Command.make("actors", {
  service: Argument.String("service").pipe(Argument.withDescription("the actor type, e.g. cart")),
  wait: waitFlag,
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("actors", async () => {
    assertToken("service", input.service);
    const waitMs = parseDuration("--wait", input.wait);
    return withSession(connection(input), async (session) => {
      const { namespace } = session.settings;
      // With no node listening, NATS answers "no responders" at once: the same as no answer.
      const nodes = await listActors(session.nc, input.service, { namespace, waitMs }).catch((error: unknown) => {
        if (/no responders/i.test(String((error as Error)?.message ?? error))) return [];
        throw error;
      });
      if (nodes.length === 0) {
        // Say why: no such service, a plain (non-actor) service, or an actor type with no live node.
        const versions = await (await session.registry()).getService(input.service, namespace);
        if (versions.length === 0) throw new MicroError("not_found", `unknown service "${input.service}" in namespace "${namespace}"`, { detail: input.service });
        if (!versions.some((s) => s.metadata[actorKeyMetadata] !== undefined)) {
          throw new MicroError("failed_precondition", `"${input.service}" is not an actor type (no "${actorKeyMetadata}" in its registry metadata); see "micro describe ${input.service}"`, { detail: input.service });
        }
        throw new MicroError("unavailable", `no node of actor type "${input.service}" answered within ${waitMs} ms`, { detail: input.service });
      }
      if (input.output === "json") return printJson(nodes);
      const activeKeys = nodes.reduce((sum, n) => sum + n.active.length, 0);
      print(`${paint.bold(input.service)} ${paint.dim(`${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${activeKeys} active key${activeKeys === 1 ? "" : "s"}`)}`);
      print("");
      print(table(["NODE", "SHARDS", "ACTIVE KEYS"], nodes.map((n) => [n.nodeId, `${shardRanges(n.shards)} (${n.shards.length})`, String(n.active.length)])));
      if (activeKeys === 0) return print(`\n${paint.dim("no key is active (actors leave memory when idle; the next command activates one)")}`);
      print("");
      print(table(["KEY", "NODE", "SHARD", "MAILBOX", "SEQUENCE", "TIMERS"], nodes.flatMap((n) =>
        [...n.active].sort((a, b) => a.key.localeCompare(b.key)).map((a) => [
          paint.cyan(a.key), n.nodeId, String(a.shard), a.depth > 0 ? paint.yellow(String(a.depth)) : "0", String(a.sequence), String(a.timers),
        ]))));
    });
  }),
).pipe(
  Command.withDescription("Show a keyed actor type's nodes, the shards each owns, and the keys active on each with their mailbox depth"),
  Command.withExamples([
    { command: "micro actors cart", description: "nodes, shards and active carts" },
    { command: "micro actors cart --output json", description: "the same as JSON (listActors)" },
  ]),
);
