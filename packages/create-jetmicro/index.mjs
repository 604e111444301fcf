#!/usr/bin/env node
// `npm create jetmicro@latest my-app`: writes a new jetmicro project into ./my-app.
// Plain Node with no dependencies, so `npm create` runs it without installing anything else.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { projectFiles, projectNameProblem } from "./template.mjs";

const usage = `usage: npm create jetmicro@latest <dir> [-- --jetmicro <version spec>]

Writes a jetmicro project into <dir> (which must not exist or be empty): a greeter service, its
proto, a test on the in-memory transport, and npm start / npm test.

  --jetmicro <spec>   the jetmicro dependency (default ^<this version>), e.g. a tarball path`;

/** Parses argv; throws a message for the user on anything unexpected. */
function parseArgs(args) {
  let dir;
  let jetmicro;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--jetmicro") {
      jetmicro = args[++i];
      if (jetmicro === undefined || jetmicro === "" || jetmicro.length > 1024) throw new Error("--jetmicro needs a version spec (at most 1024 characters)");
    } else if (arg.startsWith("-")) {
      throw new Error(`unknown option ${arg.slice(0, 80)}`);
    } else if (dir === undefined) {
      dir = arg;
    } else {
      throw new Error(`one project folder only (got ${dir} and ${arg.slice(0, 80)})`);
    }
  }
  if (dir === undefined) throw new Error("name the project folder, e.g. npm create jetmicro@latest my-app");
  return { dir, jetmicro };
}

function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`create-jetmicro: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (options.help) {
    console.log(usage);
    return 0;
  }
  const target = resolve(options.dir);
  const name = basename(target);
  const problem = projectNameProblem(name);
  if (problem !== undefined) {
    console.error(`create-jetmicro: ${problem}`);
    return 2;
  }
  if (existsSync(target) && readdirSync(target).length > 0) {
    console.error(`create-jetmicro: ${target} is not empty; pick a new folder`);
    return 1;
  }
  const own = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "package.json"), "utf8"));
  const files = projectFiles({ name, jetmicro: options.jetmicro ?? `^${own.version}` });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(target, path)), { recursive: true });
    writeFileSync(join(target, path), text, { flag: "wx" });
  }
  console.log(`created ${name} in ${target}

next:
  cd ${options.dir}
  npm start     # installs dependencies, generates gen/, starts NATS, services/ and the gateway
  npm test      # tests/ on the in-memory transport
  npx deno task start   # the same under Deno (after npm install)

then: curl --json '{"name":"Ada"}' http://127.0.0.1:8080/greeter/say-hello`);
  return 0;
}

process.exitCode = main();
