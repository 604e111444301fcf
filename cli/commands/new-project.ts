/**
 * `micro new project <dir>`: a standalone jetmicro project (the files `npm create jetmicro`
 * writes), depending on this jetmicro's version.
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Argument, Command, Flag } from "effect/cli";
import { MicroError } from "../../runtime/errors/micro-error.ts";
import { projectFiles, projectNameProblem } from "../../packages/create-jetmicro/template.mjs";
import { paint, print } from "../output.ts";
import { action, opt } from "../session.ts";

/** The version of the jetmicro package this CLI belongs to. */
function ownVersion(): string {
  const manifest = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "package.json");
  return (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
}

/**
 * Writes a new project into `dir` (which must not exist or be empty); its package.json names
 * `dir`'s last segment and depends on `jetmicro` (default `^` this version). Returns the paths written.
 */
export function createProject(dir: string, jetmicro = `^${ownVersion()}`): string[] {
  const target = resolve(dir);
  const name = basename(target);
  const problem = projectNameProblem(name);
  if (problem !== undefined) throw new MicroError("invalid_argument", problem, { detail: "dir" });
  if (jetmicro === "" || jetmicro.length > 1024) throw new MicroError("invalid_argument", "--jetmicro needs a version spec (at most 1024 characters)", { detail: "jetmicro" });
  if (existsSync(target) && !statSync(target).isDirectory()) throw new MicroError("already_exists", `${target} is a file; pick a new folder`, { detail: dir });
  if (existsSync(target) && readdirSync(target).length > 0) throw new MicroError("already_exists", `${target} is not empty; pick a new folder`, { detail: dir });
  const files = projectFiles({ name, jetmicro });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), text, { flag: "wx" });
  }
  return Object.keys(files);
}

/** Parsed on its own by cli/main.ts when the arguments start with `new project`. */
export const newProjectCommand = Command.make("project", {
  dir: Argument.String("dir").pipe(Argument.withDescription("the new project's folder; its name becomes the package name, e.g. my-app")),
  jetmicro: Flag.String("jetmicro").pipe(Flag.optional, Flag.withDescription("the jetmicro dependency spec (default ^ this version), e.g. a tarball path")),
}, (input) =>
  action("new project", async () => {
    const written = createProject(input.dir, opt(input.jetmicro));
    for (const path of written) print(`${paint.green("created")} ${join(input.dir, path)}`);
    print("");
    print(`next: cd ${input.dir} && npm start (installs, generates gen/, starts NATS, services/ and the gateway); npm test`);
  }),
).pipe(
  Command.withDescription("Create a standalone jetmicro project (as npm create jetmicro does): greeter service, proto, buf config, in-memory test"),
  Command.withExamples([{ command: "micro new project my-app", description: "a project in ./my-app" }]),
);
