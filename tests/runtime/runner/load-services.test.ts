import { afterAll, describe, expect, it } from "bun:test";
import { symlinkSync } from "node:fs";
import { join } from "node:path";
import { loadServices } from "../../../runtime/runner/load-services.ts";
import { greeterModule, makeServicesDir } from "../../support/service-dirs.ts";

const dir = makeServicesDir({
  "alpha.ts": greeterModule("alpha"),
  "broken.ts": `throw new Error("database password missing");\n`,
  "not-a-service.ts": `export default { hello: "world" };\n`,
  "typo.ts": `import { nothing } from "./does-not-exist.ts";\nexport default nothing;\n`,
  "zeta.ts": greeterModule("zeta"),
  "_shared.ts": `throw new Error("helpers are not services");\n`,
  "zeta.test.ts": `throw new Error("tests are not services");\n`,
  "notes.md": "not code",
});

afterAll(() => dir.remove());

describe("loading services/", () => {
  it("loads every good module and reports each bad one by file name without stopping", async () => {
    const loaded = await loadServices(dir.dir);
    expect(loaded.services.map((s) => s.definition.name)).toEqual(["alpha", "zeta"]);
    const failures = Object.fromEntries(loaded.failures.map((f) => [f.file.split("/").at(-1), f.error]));
    expect(Object.keys(failures).sort()).toEqual(["broken.ts", "not-a-service.ts", "typo.ts"]);
    expect(failures["broken.ts"]).toContain("database password missing");
    expect(failures["not-a-service.ts"]).toContain("not a service");
    expect(failures["typo.ts"]).toContain("does-not-exist");
  });

  it("refuses a module defining a service name and version another module already does, naming both files", async () => {
    const twice = makeServicesDir({ "alpha.ts": greeterModule("alpha"), "copy.ts": greeterModule("alpha"), "zeta.ts": greeterModule("zeta") });
    try {
      const loaded = await loadServices(twice.dir);
      expect(loaded.services.map((s) => `${s.definition.name} ${s.file.split("/").at(-1)}`)).toEqual(["alpha alpha.ts", "zeta zeta.ts"]);
      expect(loaded.failures.map((f) => f.file.split("/").at(-1))).toEqual(["copy.ts"]);
      expect(loaded.failures[0]!.error).toContain("defines alpha 2.0.0, as");
      expect(loaded.failures[0]!.error).toContain("alpha.ts does");
    } finally {
      twice.remove();
    }
  });

  it("reports a module that is a dangling symlink by file name and loads the others", async () => {
    const other = makeServicesDir({ "alpha.ts": greeterModule("alpha"), "zeta.ts": greeterModule("zeta") });
    try {
      symlinkSync(join(other.dir, "gone.ts"), join(other.dir, "moved.ts"));
      const loaded = await loadServices(other.dir);
      expect(loaded.services.map((s) => s.definition.name)).toEqual(["alpha", "zeta"]);
      expect(loaded.failures.map((f) => f.file.split("/").at(-1))).toEqual(["moved.ts"]);
    } finally {
      other.remove();
    }
  });

  it("reports a module whose top-level await never settles by file name and loads the ones after it", async () => {
    const other = makeServicesDir({
      "alpha.ts": greeterModule("alpha"),
      "hangs.ts": `await new Promise(() => {});\nexport default 1;\n`,
      "zeta.ts": greeterModule("zeta"),
    });
    try {
      const loaded = await loadServices(other.dir, undefined, 500);
      expect(loaded.services.map((s) => s.definition.name)).toEqual(["alpha", "zeta"]);
      expect(loaded.failures.map((f) => f.file.split("/").at(-1))).toEqual(["hangs.ts"]);
      expect(loaded.failures[0]?.error).toContain("did not finish loading within 0.5 s");
    } finally {
      other.remove();
    }
  });

  it("reports a missing folder instead of throwing", async () => {
    const loaded = await loadServices(`${dir.dir}/nope`);
    expect(loaded.services).toEqual([]);
    expect(loaded.failures[0]?.error).toBe("no such directory");
  });
});
