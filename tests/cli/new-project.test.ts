import { afterAll, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { micro } from "../support/cli.ts";

const work = mkdtempSync(join(tmpdir(), "jetmicro-new-project-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("micro new project", () => {
  it("writes a standalone project depending on this jetmicro's version", async () => {
    const result = await micro(["new", "project", "my-app"], {}, work);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(work, "my-app", "package.json"), "utf8"));
    const own = JSON.parse(readFileSync(join(import.meta.dir, "..", "..", "package.json"), "utf8"));
    expect(manifest.name).toBe("my-app");
    expect(manifest.dependencies.jetmicro).toBe(`^${own.version}`);
    expect(manifest.scripts).toMatchObject({ start: "micro run", prestart: "node scripts/setup.mjs", pretest: "node scripts/setup.mjs" });
    for (const path of ["buf.yaml", "buf.gen.yaml", "proto/greeter/v1/greeter.proto", "services/greeter.ts", "tests/greeter.test.ts", "scripts/setup.mjs", ".gitignore"]) {
      expect(existsSync(join(work, "my-app", path))).toBe(true);
    }
    // The project imports jetmicro by package name, never a path into a checkout.
    expect(readFileSync(join(work, "my-app", "services", "greeter.ts"), "utf8")).toContain(`from "jetmicro"`);
  });

  it("names a given dependency spec, e.g. a packed tarball", async () => {
    const result = await micro(["new", "project", "packed", "--jetmicro", "file:../jetmicro-0.1.0.tgz"], {}, work);
    expect(result.code).toBe(0);
    expect(JSON.parse(readFileSync(join(work, "packed", "package.json"), "utf8")).dependencies.jetmicro).toBe("file:../jetmicro-0.1.0.tgz");
  });

  it("refuses a folder that is not empty, touching nothing in it", async () => {
    const dir = join(work, "taken");
    await micro(["new", "project", "taken"], {}, work);
    writeFileSync(join(dir, "services", "greeter.ts"), "// mine");
    const result = await micro(["new", "project", "taken"], {}, work);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("already_exists");
    expect(readFileSync(join(dir, "services", "greeter.ts"), "utf8")).toBe("// mine");
  });

  it("refuses a name that is a file, touching it, with already_exists rather than an internal error", async () => {
    writeFileSync(join(work, "notes"), "mine");
    const result = await micro(["new", "project", "notes"], {}, work);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("already_exists");
    expect(result.stderr).toContain("is a file");
    expect(readFileSync(join(work, "notes"), "utf8")).toBe("mine");
  });

  it("rejects a name npm would not take as invalid_argument, writing nothing", async () => {
    for (const name of ["My-App", "1app", "a".repeat(65), "app name"]) {
      const result = await micro(["new", "project", name], {}, work);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("invalid_argument");
      expect(existsSync(join(work, name))).toBe(false);
    }
  });
});
