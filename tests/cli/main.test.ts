import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { micro } from "../support/cli.ts";
import { freePort } from "../support/service-dirs.ts";

const commands = ["run", "services", "describe", "call", "stream", "publish", "subscribe", "replay", "audit", "health", "stats", "traffic", "events", "dlq", "actors", "new", "gateway"];
const dir = mkdtempSync(join(tmpdir(), "jetmicro-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("micro (parsing, help, settings)", () => {
  it("lists every command in --help, and each command's --help has a description and examples", async () => {
    const help = await micro(["--help"]);
    expect(help.code).toBe(0);
    for (const command of commands) expect(help.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
    const call = await micro(["call", "--help"]);
    expect(call.code).toBe(0);
    expect(call.stdout).toContain("--metadata");
    expect(call.stdout).toContain("EXAMPLES");
    expect(call.stdout).toContain("micro call greeter Greeter.SayHello --name Ada");
    const helps = await Promise.all(commands.map((command) => micro([command, "--help"])));
    helps.forEach((h, i) => expect(`${commands[i]}: ${h.stdout}`).toContain("EXAMPLES"));
  });

  it("lists micro sidecar, which explains its own flags and refuses unknown ones", async () => {
    expect((await micro(["--help"])).stdout).toMatch(/\n  sidecar\b/);
    const help = await micro(["sidecar", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("usage: micro sidecar [flags]");
    const bad = await micro(["sidecar", "--bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`micro sidecar: error invalid_argument: unknown flag "--bogus"`);
  });

  it("rejects a bad flag or an unknown command on stderr with exit status 2", async () => {
    const flag = await micro(["services", "--bogus"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unrecognized flag: --bogus");
    expect(flag.stderr).toContain('See "micro services --help"');
    expect(flag.stdout).toBe("");
    const command = await micro(["bogus"]);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('Unknown subcommand "bogus"');
    const wizard = await micro(["--wizard"]);
    expect(wizard.code).toBe(2);
    expect(wizard.stderr).toContain("--wizard is not supported");
    const missing = await micro(["describe"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Missing required argument: service");
  });

  it("says NATS is unreachable, with the URL, and exits 3 instead of hanging", async () => {
    const port = await freePort();
    const began = Date.now();
    const result = await micro(["services", "--nats-url", `nats://127.0.0.1:${port}`]);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`micro services: error unavailable: cannot connect to NATS at nats://127.0.0.1:${port}`);
    expect(result.stderr).toContain("--nats-url");
    expect(result.stderr).not.toContain("    at ");
    expect(Date.now() - began).toBeLessThan(10_000);
  });

  it("takes the NATS URL from the flag over NATS_URL over micro.config.json", async () => {
    const [flagPort, envPort, filePort] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(join(dir, "micro.config.json"), JSON.stringify({ natsUrl: `nats://127.0.0.1:${filePort}`, namespace: "acme.prod" }));
    const fromFile = await micro(["services"], { NATS_URL: undefined, MICRO_NAMESPACE: undefined }, dir);
    expect(fromFile.stderr).toContain(`:${filePort}`);
    const fromEnv = await micro(["services"], { NATS_URL: `nats://127.0.0.1:${envPort}` }, dir);
    expect(fromEnv.stderr).toContain(`:${envPort}`);
    const fromFlag = await micro(["services", "--nats-url", `nats://127.0.0.1:${flagPort}`], { NATS_URL: `nats://127.0.0.1:${envPort}` }, dir);
    expect(fromFlag.stderr).toContain(`:${flagPort}`);
  });

  it("names a bad config file and a bad namespace", async () => {
    writeFileSync(join(dir, "bad.json"), `{"natsUrl": "nats://x", "colour": "red"}`);
    const badKey = await micro(["services", "--config", join(dir, "bad.json")]);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain(`unknown key "colour"`);
    const missing = await micro(["services", "--config", join(dir, "nope.json")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("nope.json: no such file");
    const namespace = await micro(["services", "--namespace", "a b"]);
    expect(namespace.code).toBe(2);
    expect(namespace.stderr).toContain(`namespace "a b"`);
    // A file with no size to check first (a device) is read only up to the bound, never for ever.
    const endless = await micro(["services", "--config", "/dev/zero"]);
    expect(endless.code).toBe(2);
    expect(endless.stderr).toContain("/dev/zero: over 1048576 bytes");
  });

  it("names a credentials file that cannot be used as a usage error (exit 2), with no hint to start a server", async () => {
    const port = await freePort();
    writeFileSync(join(dir, "not.creds"), "not a creds file");
    for (const [file, says] of [[join(dir, "not.creds"), "is not a NATS .creds file"], [join(dir, "none.creds"), "no such file"], ["/dev/zero", "is over 1048576 bytes"]] as const) {
      const result = await micro(["services", "--nats-url", `nats://127.0.0.1:${port}`], { NATS_CREDS: file });
      expect({ file, code: result.code }).toEqual({ file, code: 2 });
      expect(result.stderr).toContain(`NATS_CREDS file ${file}`);
      expect(result.stderr).toContain(says);
      expect(result.stderr).not.toContain("micro run");
    }
  });
});
