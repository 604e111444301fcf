/**
 * The module graph's rules (`.dependency-cruiser.cjs`): no cycles between modules, folders
 * layered so none imports a layer above it, nothing in `runtime/` importing `gateway/` or
 * `cli/`. Run here so `npm test` fails on a violation, printing each one.
 */
import { describe, expect, it } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { repoPath } from "./support/service-dirs.ts";

const config = repoPath(".dependency-cruiser.cjs");

/** Runs dependency-cruiser over `paths` in `cwd`; its exit code is the number of violations. */
async function cruise(cwd: string, paths: string[]): Promise<{ code: number; output: string }> {
  const child = Bun.spawn({
    cmd: [repoPath("node_modules/.bin/depcruise"), ...paths, "--config", config, "--output-type", "err-long"],
    cwd,
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, output: `${stdout}${stderr}` };
}

describe("module graph", () => {
  it("has no cycle and no import against the layering", async () => {
    const { code, output } = await cruise(repoPath(""), ["runtime", "cli", "gateway", "services"]);
    // On failure the violations are the difference shown.
    expect(code === 0 ? "" : output).toBe("");
  }, 60_000);

  it("fails on a module cycle, a folder importing a layer above it, and runtime importing the gateway", async () => {
    // A small tree shaped like this repository, breaking one rule of each kind.
    const root = mkdtempSync(join(tmpdir(), "jetmicro-architecture-"));
    const files: Record<string, string> = {
      "runtime/client/a.ts": `import { b } from "./b.ts";\nexport const a = () => b;\n`,
      "runtime/client/b.ts": `import { a } from "./a.ts";\nexport const b = () => a;\n`,
      "runtime/stream/core.ts": `import type { Server } from "../server/server.ts";\nexport type Core = Server;\n`,
      "runtime/server/server.ts": `export interface Server { readonly id: string }\n`,
      "runtime/registry/web.ts": `import { app } from "../../gateway/app.ts";\nexport const web = app;\n`,
      "runtime/protocol/subjects.ts": `import { a } from "../client/a.ts";\nexport const s = a;\n`,
      "runtime/newthing/x.ts": `import type { Server } from "../server/server.ts";\nexport type X = Server;\n`,
      "gateway/app.ts": `export const app = 1;\n`,
    };
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      const { code, output } = await cruise(root, ["runtime", "gateway"]);
      expect(code).toBeGreaterThan(0);
      expect(output).toContain("no-circular: runtime/client/a.ts");
      expect(output).toContain("layer:stream: runtime/stream/core.ts → runtime/server/server.ts");
      expect(output).toContain("runtime-below-gateway-and-cli: runtime/registry/web.ts → gateway/app.ts");
      expect(output).toContain("protocol-is-the-core: runtime/protocol/subjects.ts → runtime/client/a.ts");
      expect(output).toContain("unplaced-runtime-folder: runtime/newthing/x.ts");
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
