/**
 * `micro traffic <service> [version=weight ...] [--clear]`: version weights of a service
 * (routing rules in the `micro_routes` KV bucket, followed by every client within moments).
 * @module
 */
import { Argument, Command, Flag } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { validRule } from "../../runtime/selector/routing-rules.ts";
import { assertToken } from "../../runtime/protocol/mod.ts";
import { connection, connectionFlags, outputFlag } from "../flags.ts";
import { paint, print, printJson, table } from "../output.ts";
import { action, withSession } from "../session.ts";

/** `["1.0.0=90", "2.0.0=10"]` → `{"1.0.0": 90, "2.0.0": 10}`; `invalid_argument` naming a bad pair. */
export function parseWeights(pairs: readonly string[]): Record<string, number> {
  const weights: Record<string, number> = {};
  for (const pair of pairs) {
    const match = /^([^=\s]+)=(.+)$/.exec(pair);
    if (match === null) throw new MicroError("invalid_argument", `"${pair}" must be version=weight, e.g. 1.0.0=90`, { detail: pair });
    const weight = Number(match[2]);
    if (!Number.isFinite(weight) || weight < 0) throw new MicroError("invalid_argument", `weight of ${match[1]} must be a number >= 0, got "${match[2]}"`, { detail: pair });
    weights[match[1]!] = weight;
  }
  if (Object.values(weights).every((w) => w === 0)) throw new MicroError("invalid_argument", "at least one version needs a weight above 0");
  return validRule({ weights }).weights as Record<string, number>;
}

export const trafficCommand = Command.make("traffic", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. greeter")),
  weights: Argument.String("version=weight").pipe(Argument.variadic(), Argument.withDescription("new weights, e.g. 1.0.0=90 2.0.0=10 (none: show the current ones)")),
  clear: Flag.Boolean("clear").pipe(Flag.withDefault(false), Flag.withDescription("remove the weights: every version gets traffic again")),
  ...connectionFlags,
  output: outputFlag,
}, (input) =>
  action("traffic", async () => {
    assertToken("service", input.service);
    if (input.clear && input.weights.length > 0) throw new MicroError("invalid_argument", "give weights or --clear, not both");
    const weights = input.weights.length > 0 ? parseWeights(input.weights) : undefined;
    return withSession(connection(input), async (session) => {
      const { namespace } = session.settings;
      const rules = await session.rules();
      if (weights !== undefined || input.clear) await rules.set(namespace, input.service, weights === undefined ? undefined : { weights });
      const current = weights ?? (input.clear ? undefined : rules.get(namespace, input.service)?.weights);
      const running = (await (await session.registry()).getService(input.service, namespace)).map((s) => s.version);
      if (input.output === "json") return printJson({ service: input.service, weights: current ?? null, running });
      if (current === undefined) {
        print(`${paint.cyan(input.service)}: no weights${input.clear ? " (cleared)" : ""}; calls go to any running version${running.length ? ` (${running.join(", ")})` : ""}`);
        return;
      }
      const total = Object.values(current).reduce((a, b) => a + b, 0);
      const versions = [...new Set([...Object.keys(current), ...running])];
      print(table(["VERSION", "WEIGHT", "SHARE", "RUNNING"], versions.map((v) => [
        v, String(current[v] ?? 0), `${total === 0 ? 0 : Math.round(((current[v] ?? 0) / total) * 1000) / 10}%`, running.includes(v) ? paint.green("yes") : paint.yellow("no"),
      ])));
    });
  }),
).pipe(
  Command.withDescription("Show or set a service's version weights (canary releases); every client follows within moments"),
  Command.withExamples([
    { command: "micro traffic greeter", description: "the current weights" },
    { command: "micro traffic greeter 1.0.0=90 2.0.0=10", description: "send a tenth of the calls to 2.0.0" },
    { command: "micro traffic greeter --clear", description: "every running version again" },
  ]),
);
