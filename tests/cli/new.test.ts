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

  it("refuses to overwrite, and refuses a bad name or a folder that is no project", async () => {
    const before = readFileSync(join(project, "services/inventory.ts"), "utf8");
    const again = await micro(["new", "inventory"], {}, project);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("error already_exists: not overwriting proto/inventory/v1/inventory.proto, services/inventory.ts, tests/services/inventory.test.ts");
    expect(readFileSync(join(project, "services/inventory.ts"), "utf8")).toBe(before);

    const bad = await micro(["new", "Bad-Name"], {}, project);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`service name "Bad-Name" must be lowercase letters and digits`);

    const empty = mkdtempSync(join(tmpdir(), "jetmicro-empty-"));
    const nowhere = await micro(["new", "shop", "--root", empty], {}, project);
    rmSync(empty, { recursive: true, force: true });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("has no proto/ folder");
  });
});
