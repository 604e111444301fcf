/**
 * `micro new <name>`: scaffolds a service (proto, generated code, handler, passing test).
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Argument, Command, Flag } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { paint, print } from "../output.ts";
import { action } from "../session.ts";
import { assertNewServiceName, generatedFile, pascal, scaffoldFiles } from "../scaffold.ts";

/** `buf` from the project's node_modules, else from PATH. */
function bufBinary(root: string): string {
  const local = join(root, "node_modules", ".bin", process.platform === "win32" ? "buf.cmd" : "buf");
  return existsSync(local) ? local : "buf";
}

/** Writes the scaffold of `name` under `root` (refusing to overwrite anything) and generates its code. */
export function scaffoldService(root: string, name: string, generate = true): string[] {
  assertNewServiceName(name);
  const files = scaffoldFiles(name);
  const taken = Object.keys(files).filter((path) => existsSync(join(root, path)));
  if (taken.length > 0) throw new MicroError("already_exists", `not overwriting ${taken.join(", ")} (pick another name or remove them)`, { detail: taken[0] });
  if (!existsSync(join(root, "proto"))) {
    throw new MicroError("failed_precondition", `${root} has no proto/ folder: run micro new in a jetmicro project's root (or pass --root)`);
  }
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text, { flag: "wx" });
  }
  if (generate) {
    const result = spawnSync(bufBinary(root), ["generate"], { cwd: root, encoding: "utf8" });
    if (result.error !== undefined || result.status !== 0) {
      const why = result.error?.message ?? (result.stderr || result.stdout).trim();
      throw new MicroError("internal", `files written, but "buf generate" failed: ${why} (fix it, then run npm run gen)`);
    }
  }
  return Object.keys(files);
}

export const newCommand = Command.make("new", {
  name: Argument.String("name").pipe(Argument.withDescription("service name: lowercase letters and digits, e.g. inventory")),
  root: Flag.String("root").pipe(Flag.withDefault("."), Flag.withDescription("project root (default: the current folder)")),
}, (input) =>
  action("new", async () => {
    const written = scaffoldService(resolve(input.root), input.name);
    for (const path of written) print(`${paint.green("created")} ${path}`);
    print(`${paint.green("generated")} ${generatedFile(input.name)}`);
    print("");
    print(`next: bun test tests/services/${input.name}.test.ts, then micro run and micro call ${input.name} ${pascal(input.name)}.Get --id 42`);
  }),
).pipe(
  Command.withDescription("Scaffold a service: proto/<name>/v1/<name>.proto, generated code, services/<name>.ts and a passing test"),
  Command.withExamples([{ command: "micro new inventory", description: "an inventory service with one Get method" }]),
);
