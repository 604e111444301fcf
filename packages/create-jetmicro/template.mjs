// The files of a new jetmicro project, shared by `npm create jetmicro` (index.mjs) and
// `micro new project`. Plain JavaScript with no dependencies: it runs before anything is installed.

/**
 * Versions the generated project pins. Kept equal to jetmicro's own package.json (a test checks),
 * so a new project builds with the tools jetmicro is tested with.
 */
export const toolVersions = {
  "@bufbuild/buf": "1.75.0",
  "@bufbuild/protobuf": "2.17.0",
  "@bufbuild/protoc-gen-es": "2.17.0",
  "@types/bun": "1.4.5",
  bun: "1.4.5",
  deno: "2.9.6",
  typescript: "5.9.3",
};

/**
 * Where `scripts/setup.mjs` links the installed jetmicro package for Deno (project-relative).
 * Deno refuses to type-strip `.ts` under a `node_modules/` path
 * (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), and jetmicro ships TypeScript sources; through
 * a link outside node_modules the same files are local modules, which Deno type-strips, while
 * their bare imports (effect, hono, @nats-io/*) still resolve in the project's node_modules.
 */
export const denoLink = ".micro/deno/jetmicro";

/**
 * jsr.json's `exports` (the entry points JSR would serve as `jsr:@jetmicro/jetmicro/...`), keyed
 * by the specifier a project imports. A test checks they equal jsr.json's.
 */
export const jsrExports = {
  jetmicro: "runtime/mod.ts",
  "jetmicro/testing": "runtime/testing/mod.ts",
  "jetmicro/gateway": "gateway/mod.ts",
  "jetmicro/nats": "runtime/nats/mod.ts",
  "jetmicro/protocol": "runtime/protocol/mod.ts",
  "jetmicro/gen/micro/api/v1": "gen/micro/api/v1/api_pb.ts",
  "jetmicro/gen/audit/v1": "gen/audit/v1/audit_pb.ts",
};

/** The generated project's deno.json: the import map onto the linked package and `deno task start`. */
function denoJson() {
  const imports = Object.fromEntries(Object.entries(jsrExports).map(([specifier, file]) => [specifier, `./${denoLink}/${file}`]));
  // npm's "./gen/*" export, so `jetmicro/gen/.../x_pb.ts` imports work on Deno as on Bun and Node.
  imports["jetmicro/gen/"] = `./${denoLink}/gen/`;
  return {
    $comment: `Deno runs the same project: npm install, then npx deno task start. jetmicro ships TypeScript, which Deno will not type-strip under node_modules/, so scripts/setup.mjs links node_modules/jetmicro at ${denoLink} and the imports below point there (jsr.json's entry points); other npm packages come from node_modules (nodeModulesDir manual), so package-lock.json stays the only lock file. --config keeps this file in force for the CLI that lives in the link.`,
    nodeModulesDir: "manual",
    lock: false,
    imports,
    tasks: {
      start: {
        description: "micro run under Deno: NATS from NATS_URL or started here, every service in services/, the gateway, until Ctrl-C",
        command: `node scripts/setup.mjs && ./node_modules/.bin/deno run -A --config deno.json ${denoLink}/cli/main.ts run`,
      },
    },
    // Not .micro/: the linked package lives there.
    exclude: ["node_modules/"],
  };
}

/** npm's rules for a package name, shortened: lowercase, digits, `-`, `_`, `.`, at most 64 characters. */
const projectName = /^[a-z][a-z0-9._-]{0,63}$/;

/**
 * Checks a project name (the folder's last segment, which becomes package.json's name).
 * @param {string} name
 * @returns {string | undefined} what is wrong with it, or undefined when it is fine
 */
export function projectNameProblem(name) {
  if (projectName.test(name)) return undefined;
  return `project name "${name.slice(0, 80)}" must start with a lowercase letter and hold only lowercase letters, digits, ".", "_" and "-" (at most 64 characters), e.g. my-app`;
}

/**
 * Path (relative to the project root) → contents of a new project.
 * @param {{ name: string; jetmicro: string }} options `jetmicro`: the dependency spec, e.g. `^0.1.0`
 * @returns {Record<string, string>}
 */
export function projectFiles({ name, jetmicro }) {
  const packageJson = {
    name,
    version: "0.1.0",
    private: true,
    type: "module",
    engines: { node: ">=22" },
    scripts: {
      prestart: "node scripts/setup.mjs",
      start: "micro run",
      pretest: "node scripts/setup.mjs",
      test: "bun test --timeout 30000",
      gen: "buf generate",
      check: "tsc --noEmit -p tsconfig.json",
    },
    dependencies: {
      "@bufbuild/protobuf": toolVersions["@bufbuild/protobuf"],
      jetmicro,
    },
    devDependencies: {
      "@bufbuild/buf": toolVersions["@bufbuild/buf"],
      "@bufbuild/protoc-gen-es": toolVersions["@bufbuild/protoc-gen-es"],
      "@types/bun": toolVersions["@types/bun"],
      bun: toolVersions.bun,
      deno: toolVersions.deno,
      typescript: toolVersions.typescript,
    },
  };
  return {
    "package.json": JSON.stringify(packageJson, null, 2) + "\n",
    ".gitignore": "node_modules/\ngen/\n.micro/\n*.log\n",
    "deno.json": JSON.stringify(denoJson(), null, 2) + "\n",
    "buf.yaml": `version: v2
modules:
  - path: proto
lint:
  use:
    - STANDARD
  except:
    # Service names are go-micro style (\`Greeter\`, service "greeter"), not \`GreeterService\`.
    - SERVICE_SUFFIX
`,
    "buf.gen.yaml": `# Generated TypeScript lives in gen/ (git-ignored, rebuilt by \`npm run gen\` and on start/test).
version: v2
clean: true
inputs:
  - directory: proto
plugins:
  - local: protoc-gen-es
    out: gen
    opt:
      - target=ts
      - import_extension=ts
`,
    "tsconfig.json": JSON.stringify(
      {
        compilerOptions: {
          target: "ES2022",
          module: "ESNext",
          moduleResolution: "Bundler",
          lib: ["ES2023", "DOM"],
          types: ["bun"],
          strict: true,
          allowImportingTsExtensions: true,
          verbatimModuleSyntax: true,
          isolatedModules: true,
          skipLibCheck: true,
          noEmit: true,
        },
        include: ["services", "tests", "gen"],
      },
      null,
      2,
    ) + "\n",
    "proto/greeter/v1/greeter.proto": `syntax = "proto3";

package greeter.v1;

// Says hello. Add methods here, run \`npm run gen\`, then implement them in services/greeter.ts.
service Greeter {
  // Answers "Hello <name>".
  rpc SayHello(SayHelloRequest) returns (SayHelloResponse);
}

message SayHelloRequest {
  string name = 1;
}

message SayHelloResponse {
  string message = 1;
}
`,
    "services/greeter.ts": `import { defineService, MicroError } from "jetmicro";
import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";

/** The greeter: \`micro run\` serves every default export of services/. */
export default defineService(Greeter, { version: "1.0.0" }, {
  async sayHello(request) {
    if (request.name.trim() === "") throw new MicroError("invalid_argument", "name must not be empty", { detail: "name" });
    return { message: \`Hello \${request.name}\` };
  },
});
`,
    "tests/greeter.test.ts": `import { describe, expect, it } from "bun:test";
import { createClient, MicroError } from "jetmicro";
import { createMemoryTransport } from "jetmicro/testing";
import { Greeter } from "../gen/greeter/v1/greeter_pb.ts";
import greeter from "../services/greeter.ts";

// The in-memory transport calls the handlers in this process: no NATS server needed.
const client = createClient(Greeter, createMemoryTransport([greeter]));

describe("greeter", () => {
  it("says hello to the name it is given", async () => {
    expect((await client.sayHello({ name: "Ada" })).message).toBe("Hello Ada");
  });

  it("rejects an empty name as invalid_argument", async () => {
    const error = await client.sayHello({ name: " " }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(MicroError);
    expect((error as MicroError).code).toBe("invalid_argument");
  });
});
`,
    "scripts/setup.mjs": setupScript,
    "README.md": `# ${name}

A [jetmicro](https://www.npmjs.com/package/jetmicro) project: services on NATS JetStream.

\`\`\`sh
npm start    # installs what is missing, starts NATS, services/ and the gateway on :8080
npm test     # the tests in tests/ (bun test, on the in-memory transport)
\`\`\`

Then, from another terminal:

\`\`\`sh
curl --json '{"name":"Ada"}' http://127.0.0.1:8080/greeter/say-hello
npx micro call greeter Greeter.SayHello --name Ada
\`\`\`

The same project runs under Deno (the \`deno\` installed in node_modules; after \`npm install\`):

\`\`\`sh
npx deno task start   # micro run on Deno: NATS, services/ and the gateway on :8080
\`\`\`

Every command uses the \`bun\`, \`deno\`, \`buf\` and \`micro\` installed in node_modules (no global tools).
Add a method to \`proto/greeter/v1/greeter.proto\`, run \`npm run gen\`, implement it in
\`services/greeter.ts\`. A new service is a new proto and a new module in \`services/\`.
`,
  };
}

/** The generated project's scripts/setup.mjs: what `npm start` and `npm test` run first. */
const setupScript = `// Runs before npm start and npm test: installs npm dependencies when package.json changed,
// regenerates gen/ from proto/ when a proto changed, links jetmicro where Deno runs it from, and
// makes sure nats-server exists (found on PATH or installed; skipped when NATS_URL names a server
// of your own). Plain Node, no dependencies: it runs before node_modules exists.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const binDir = join(root, "node_modules", ".bin");
const suffix = process.platform === "win32" ? ".cmd" : "";
// buf finds its protoc-gen-es plugin on PATH.
const env = { ...process.env, PATH: \`\${binDir}\${delimiter}\${process.env.PATH ?? ""}\` };

try {
  installDependencies();
  generateCode();
  linkForDeno();
  ensureNatsServer();
} catch (error) {
  console.error(\`setup: \${error.message}\`);
  process.exit(1);
}

function installDependencies() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const inputs = ["package.json", "package-lock.json"].map((file) => join(root, file));
  if (mtime(marker) >= Math.max(...inputs.map(mtime))) return;
  console.log("setup: installing dependencies (npm install)");
  run("npm install", "npm" + suffix, ["install", "--no-audit", "--no-fund"]);
  const now = new Date();
  if (existsSync(marker)) utimesSync(marker, now, now);
}

function generateCode() {
  const gen = join(root, "gen");
  const inputs = [newest(join(root, "proto")), mtime(join(root, "buf.gen.yaml")), mtime(join(root, "buf.yaml"))];
  if (existsSync(gen) && newest(gen) >= Math.max(...inputs)) return;
  console.log("setup: generating code from proto/ (buf generate)");
  run("buf generate", join(binDir, "buf" + suffix), ["generate"]);
  touchAll(gen);
}

// Deno will not type-strip .ts files under node_modules/ (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING)
// and jetmicro ships TypeScript: deno.json imports jetmicro through this link instead, where the
// same files are local modules. Bun and Node never look here.
function linkForDeno() {
  const installed = join(root, "node_modules", "jetmicro");
  if (!existsSync(installed)) return;
  const link = join(root, ${JSON.stringify(denoLink)});
  // Relative, so the project folder can move; a junction (absolute) on Windows needs no privilege.
  const target = process.platform === "win32" ? installed : relative(dirname(link), installed);
  if (isLinkTo(link, target)) return;
  rmSync(link, { recursive: true, force: true });
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(target, link, "junction");
}

function isLinkTo(link, target) {
  try {
    return lstatSync(link).isSymbolicLink() && readlinkSync(link) === target;
  } catch {
    return false;
  }
}

function ensureNatsServer() {
  if (process.env.NATS_URL) return;
  // jetmicro's finder/installer, run on the bun installed here.
  const require = createRequire(join(root, "package.json"));
  const bun = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
  run("checking nats-server", bun, [require.resolve("jetmicro/setup-nats-server")], { quiet: true });
}

function run(step, command, args, { quiet = false } = {}) {
  const result = spawnSync(command, args, { cwd: root, env, stdio: "inherit", shell: suffix === ".cmd" });
  if (result.error) throw new Error(\`\${step} failed: \${result.error.message}\`);
  if (result.status !== 0) throw new Error(quiet ? \`\${step} failed\` : \`\${step} failed with exit code \${result.status ?? result.signal}\`);
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
}

function touchAll(dir) {
  const now = new Date();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) utimesSync(join(entry.parentPath ?? entry.path, entry.name), now, now);
  }
}

function newest(dir) {
  let latest = -Infinity;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, mtime(join(entry.parentPath ?? entry.path, entry.name)));
  }
  return latest;
}
`;
