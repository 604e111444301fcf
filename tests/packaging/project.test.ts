// Done-when test of issue 17: jetmicro used as a dependency. Packs jetmicro and create-jetmicro
// (npm pack), creates a project from the packed generator in a temporary folder outside the
// repository, installs the tarballs there, and checks that the project's `npm test` passes and
// its `npm start` serves the greeter through the gateway and to `micro call`; then that same
// installed project runs under Deno (`deno task start`, the project's own deno) and serves the
// greeter too. Slow (npm install of a project), so it is one file whose long tests share one
// project, and commands that print their output when they fail or time out.
import { afterAll, describe, expect, it } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { freePort } from "../support/service-dirs.ts";
import { until } from "../support/wait.ts";
import { denoLink, jsrExports, toolVersions } from "../../packages/create-jetmicro/template.mjs";

const repo = realpathSync(join(import.meta.dir, "..", ".."));
const work = realpathSync(mkdtempSync(join(tmpdir(), "jetmicro-project-")));
const project = join(work, "my-app");
// npm's own caches and logs stay out of the user's home and the repository.
const npmEnv = { npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
let started: ChildProcess | undefined;
/** Set when the npm test has packed, generated and installed the project the Deno test reuses. */
let installed = false;

afterAll(async () => {
  if (started?.pid !== undefined && started.exitCode === null && started.signalCode === null) {
    process.kill(-started.pid, "SIGKILL");
  }
  rmSync(work, { recursive: true, force: true });
});

interface Ran {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command to its end (or kills it at `timeoutMs`), failing with its whole output unless it exits 0. */
async function run(command: string, args: string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...npmEnv, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on("close", (exit) => resolve(exit)));
  clearTimeout(timer);
  const what = `${command} ${args.join(" ")} in ${cwd}`;
  if (code !== 0) throw new Error(`${what} ${code === null ? `timed out after ${timeoutMs} ms` : `exited ${code}`}:\n${output}`);
  return { code, output };
}

/** `npm warn EBADENGINE` blocks of an npm run's output, as "package requires range". */
function engineWarnings(output: string): string[] {
  return [...output.matchAll(/package: '([^']+)',\s*npm warn EBADENGINE\s+required: \{ node: '([^']+)' \}/g)].map((m) => `${m[1]} requires ${m[2]}`);
}

describe("jetmicro as a dependency (npm pack, npm create jetmicro, npm start, npm test, deno task start)", () => {
  it("the generator's pinned tools are jetmicro's own versions", () => {
    const own = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    const all = { ...own.dependencies, ...own.devDependencies };
    for (const [name, version] of Object.entries(toolVersions)) expect(`${name}@${all[name]}`).toBe(`${name}@${version}`);
    expect(JSON.parse(readFileSync(join(repo, "packages", "create-jetmicro", "package.json"), "utf8")).version).toBe(own.version);
  });

  it("a generated project's Deno import map names jsr.json's entry points", () => {
    const jsr = JSON.parse(readFileSync(join(repo, "jsr.json"), "utf8"));
    const asJsr = Object.fromEntries(Object.entries(jsrExports).map(([specifier, file]) => [specifier.replace(/^jetmicro/, "."), `./${file}`]));
    expect(asJsr).toEqual(jsr.exports);
    expect(JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).files).toContain("jsr.json");
  });

  it("a generated project outside the repository installs the packed tarballs, passes npm test and serves the greeter on npm start", async () => {
    expect(relative(repo, work).startsWith("..")).toBe(true);

    // 1. The two packages, as npm publish would upload them.
    await run("npm", ["pack", "--pack-destination", work], repo, 60_000);
    await run("npm", ["pack", "--pack-destination", work], join(repo, "packages", "create-jetmicro"), 30_000);
    const version = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")).version as string;
    const jetmicroTarball = join(work, `jetmicro-${version}.tgz`);

    // 2. The generator from its tarball (what `npm create jetmicro` runs), pointed at the packed jetmicro.
    await run("npm", ["exec", "--yes", "--package", join(work, `create-jetmicro-${version}.tgz`), "--", "create-jetmicro", "my-app", "--jetmicro", `file:${jetmicroTarball}`], work, 60_000);
    const manifest = JSON.parse(readFileSync(join(project, "package.json"), "utf8"));
    expect(manifest.dependencies.jetmicro).toBe(`file:${jetmicroTarball}`);
    expect(manifest.scripts).toMatchObject({ start: "micro run", test: expect.stringMatching(/^bun test/) });

    // 3. Install: the registry serves third-party packages; jetmicro comes from the tarball.
    const install = await run("npm", ["install"], project, 150_000);
    // The Node npm runs on (Bun's process.versions.node names the Node version Bun mimics instead).
    const nodeMajor = Number((await run("node", ["--version"], project, 10_000)).output.trim().replace(/^v/, "").split(".")[0]);
    // Supported Node versions (>=22) install without engine warnings; older ones are warned, correctly.
    if (nodeMajor >= 22) expect(engineWarnings(install.output)).toEqual([]);
    else expect(engineWarnings(install.output).every((warning) => /requires >= ?22/.test(warning))).toBe(true);
    // The shipped generated code of the bundled protos.
    expect(readFileSync(join(project, "node_modules", "jetmicro", "gen", "micro", "api", "v1", "api_pb.ts"), "utf8")).toContain("RequestSchema");

    // 4. npm test: generates gen/ from the project's proto and runs its in-memory test.
    const tested = await run("npm", ["test"], project, 90_000);
    expect(tested.output).toContain("setup: generating code from proto/");
    expect(tested.output).toMatch(/\b2 pass\b/);
    expect(tested.output).toMatch(/\b0 fail\b/);

    // 5. npm start: NATS started here, the greeter, the gateway.
    const { natsPort, log, stop } = await serveGreeter(["npm", "start"], "npm start");

    // micro call, the project's own binary (node_modules/.bin/micro), on the NATS npm start runs.
    const called = await run(join(project, "node_modules", ".bin", "micro"), ["call", "greeter", "Greeter.SayHello", "--name", "Ada", "--nats-url", `nats://127.0.0.1:${natsPort}`], project, 30_000);
    expect(JSON.parse(called.output)).toEqual({ message: "Hello Ada" });

    // Ctrl-C (SIGINT to the process group) stops it all, NATS included.
    await stop();
    expect(log()).toContain("stopping");
    installed = true;
  }, 170_000);

  it("the same project runs under Deno: deno task start serves the greeter through the gateway and stops on Ctrl-C", async () => {
    // Reuses the project the previous test packed, generated and installed.
    if (!installed) throw new Error("the npm project test above failed, so there is no installed project to run under Deno");
    const deno = JSON.parse(readFileSync(join(project, "deno.json"), "utf8"));
    expect(deno.tasks.start.command).toContain("./node_modules/.bin/deno run");
    // What `npx deno task start` runs: the project's own deno (node_modules/.bin/deno), no global one.
    const { log, stop } = await serveGreeter([join(project, "node_modules", ".bin", "deno"), "task", "start"], "deno task start");
    // deno task echoes what it runs: the CLI from the link (not node_modules/, where Deno will not type-strip) on the project's deno.
    expect(log()).toContain(`${denoLink}/cli/main.ts run`);
    await stop();
    expect(log()).toContain("stopping");
  }, 90_000);
});

/**
 * Starts `command` in the project (its own process group) with NATS and the gateway on free
 * ports, waits until the greeter answers `curl --json` through the gateway, and checks /health.
 * `stop` sends Ctrl-C (SIGINT to the group) and waits until the process and the gateway are gone.
 */
async function serveGreeter(command: string[], what: string) {
  const natsPort = await freePort();
  const gatewayPort = await freePort();
  const env = { MICRO_NATS_PORT: String(natsPort), MICRO_GATEWAY_PORT: String(gatewayPort), MICRO_NATS_STORE_DIR: join(work, `nats-store-${natsPort}`) };
  const child = spawn(command[0]!, command.slice(1), { cwd: project, env: { ...process.env, ...npmEnv, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  started = child;
  let log = "";
  child.stdout!.on("data", (chunk) => (log += chunk));
  child.stderr!.on("data", (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.on("close", resolve));
  const gateway = `http://127.0.0.1:${gatewayPort}`;
  // curl --json: a POST with content-type application/json.
  const hello = async () => {
    const response = await fetch(`${gateway}/greeter/say-hello`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Ada" }) }).catch(() => undefined);
    return response?.status === 200 ? await response.json() : undefined;
  };
  try {
    await until(async () => (await hello()) !== undefined, { timeoutMs: 60_000, intervalMs: 200, what: `the greeter through the gateway (${what})` });
  } catch (error) {
    throw new Error(`${(error as Error).message}; ${what} printed:\n${log}`);
  }
  expect(await hello()).toEqual({ message: "Hello Ada" });
  expect(await (await fetch(`${gateway}/health`)).json()).toEqual({ status: "ok" });
  const stop = async () => {
    process.kill(-child.pid!, "SIGINT");
    await exited;
    await until(async () => (await fetch(`${gateway}/health`).catch(() => undefined)) === undefined, { timeoutMs: 15_000, what: `the gateway of ${what} to stop` });
  };
  return { natsPort, log: () => log, stop };
}
