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
import { paint, print, printError, printJson, table } from "../output.ts";
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

/**
 * Refuses weights no call could follow: for a service nobody runs (a typo would otherwise
 * route nothing, silently), or giving traffic to a version nobody runs, unless `force`
 * (a version about to be deployed), which only warns.
 */
function checkWeights(service: string, namespace: string, weights: Readonly<Record<string, number>>, running: readonly string[], force: boolean): void {
  if (running.length === 0 && !force) {
    throw new MicroError("not_found", `no version of ${service} runs in namespace "${namespace}" (see: micro services); --force sets the weights anyway`, { detail: service });
  }
  const missing = Object.entries(weights).filter(([version, weight]) => weight > 0 && !running.includes(version)).map(([version]) => version);
  if (missing.length === 0) return;
  const text = `${missing.join(", ")} of ${service} ${missing.length === 1 ? "does" : "do"} not run (running: ${running.join(", ") || "none"})`;
  if (!force) throw new MicroError("failed_precondition", `${text}: its share of the calls would fail; --force sets the weights anyway`, { detail: missing.join(",") });
  printError(paint.yellow(`warning: ${text}; its share of the calls fails until it runs`));
}

export const trafficCommand = Command.make("traffic", {
  service: Argument.String("service").pipe(Argument.withDescription("service name, e.g. greeter")),
  weights: Argument.String("version=weight").pipe(Argument.variadic(), Argument.withDescription("new weights, e.g. 1.0.0=90 2.0.0=10 (none: show the current ones)")),
  force: Flag.Boolean("force").pipe(Flag.withDefault(false), Flag.withDescription("set weights of versions not running yet (about to be deployed)")),
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
      const running = (await (await session.registry()).getService(input.service, namespace)).map((s) => s.version);
      if (weights !== undefined) checkWeights(input.service, namespace, weights, running, input.force);
      if (weights !== undefined || input.clear) await rules.set(namespace, input.service, weights === undefined ? undefined : { weights });
      const current = weights ?? (input.clear ? undefined : rules.get(namespace, input.service)?.weights);
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
    { command: "micro traffic greeter 1.0.0=90 3.0.0=10 --force", description: "weights for a version still being deployed" },
  ]),
);
