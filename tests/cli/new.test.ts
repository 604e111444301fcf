import { afterAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, micro } from "../support/cli.ts";

const { dir: project, remove } = makeProject();
afterAll(remove);

describe("micro new", () => {
  it("scaffolds proto, generated code, handler and a test that passes", async () => {
    const created = await micro(["new", "inventory"], {}, project);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("created proto/inventory/v1/inventory.proto");
    expect(created.stdout).toContain("created services/inventory.ts");
    expect(created.stdout).toContain("created tests/services/inventory.test.ts");
    expect(existsSync(join(project, "gen/inventory/v1/inventory_pb.ts"))).toBe(true);
    expect(existsSync(join(project, "gen/greeter/v1/greeter_pb.ts"))).toBe(true);

    const run = Bun.spawn({ cmd: [process.execPath, "test", "--timeout", "30000", "tests/services/inventory.test.ts"], cwd: project, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(`${out}${err}`).toContain("2 pass");
    expect(code).toBe(0);
  });

  it("accepts a kebab-case name the runtime accepts, and its test runs in memory, without NATS", async () => {
    const created = await micro(["new", "user-profile"], {}, project);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("created proto/user_profile/v1/user_profile.proto");
    expect(created.stdout).toContain("created services/user-profile.ts");
    expect(created.stdout).toContain("micro call user-profile UserProfile.Get --id 42");
    expect(existsSync(join(project, "gen/user_profile/v1/user_profile_pb.ts"))).toBe(true);
    const test = readFileSync(join(project, "tests/services/user-profile.test.ts"), "utf8");
    expect(test).toContain("createMemoryTransport");
    expect(test).not.toContain("startTestNats");
    // No NATS anywhere: a URL that answers nothing cannot be what the test uses.
    const run = Bun.spawn({ cmd: [process.execPath, "test", "--timeout", "30000", "tests/services/user-profile.test.ts"], cwd: project, stdout: "pipe", stderr: "pipe", env: { ...process.env, NATS_URL: "nats://127.0.0.1:1" } });
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(`${out}${err}`).toContain("2 pass");
    expect(code).toBe(0);
  });

  it("writes code that runs for names that are words of JavaScript or of the scaffold itself", async () => {
    // Each was a scaffold whose test could not load: `import delete from`, `import it from`
    // (bun:test's it), `import client from` beside `const client`.
    const names = ["delete", "it", "client", "eval"];
    for (const name of names) expect((await micro(["new", name], {}, project)).code).toBe(0);
    const run = Bun.spawn({ cmd: [process.execPath, "test", "--timeout", "30000", ...names.map((n) => `tests/services/${n}.test.ts`)], cwd: project, stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
    expect(`${out}${err}`).toContain(`${names.length * 2} pass`);
    expect(code).toBe(0);
  });

  it("refuses, before writing anything, a name whose proto service the scaffold cannot use", async () => {
    // get-request clashed with the proto's GetRequest: files written, then buf generate failed for the whole project.
    for (const [name, service] of [["get-request", "GetRequest"], ["micro-error", "MicroError"], ["object", "Object"], ["uint8-array", "Uint8Array"]]) {
      const refused = await micro(["new", name!], {}, project);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`service name "${name}" would make the proto service ${service}, a name the scaffold's own code already uses`);
      expect(existsSync(join(project, `services/${name}.ts`))).toBe(false);
    }
  });

  it("refuses to overwrite, and refuses a bad name or a folder that is no project", async () => {
    const before = readFileSync(join(project, "services/inventory.ts"), "utf8");
    const again = await micro(["new", "inventory"], {}, project);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("error already_exists: not overwriting proto/inventory/v1/inventory.proto, services/inventory.ts, tests/services/inventory.test.ts");
    expect(readFileSync(join(project, "services/inventory.ts"), "utf8")).toBe(before);

    for (const name of ["Bad-Name", "trail-", "two--dashes", "snake_case"]) {
      const bad = await micro(["new", name], {}, project);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(`service name "${name}" must be lowercase letters and digits`);
    }

    const empty = mkdtempSync(join(tmpdir(), "jetmicro-empty-"));
    const nowhere = await micro(["new", "shop", "--root", empty], {}, project);
    rmSync(empty, { recursive: true, force: true });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("has no proto/ folder");
  });
});
