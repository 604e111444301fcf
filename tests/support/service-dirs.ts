import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");

/** Absolute import path of a repo file, for service modules written into temp dirs. */
export function repoPath(path: string): string {
  return join(root, path);
}

/** A temp services folder holding `files` (name → source); `remove()` deletes it. */
export function makeServicesDir(files: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "jetmicro-services-"));
  // Outside this package, Node (tsx) would load .ts files as CommonJS without this.
  writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
  for (const [name, source] of Object.entries(files)) writeFileSync(join(dir, name), source);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Source of a greeter-based service module named `name`, answering after `delayMs`. */
export function greeterModule(name: string, delayMs = 0): string {
  return `import { Greeter } from ${JSON.stringify(repoPath("gen/greeter/v1/greeter_pb.ts"))};
import { defineService } from ${JSON.stringify(repoPath("runtime/mod.ts"))};
export default defineService(Greeter, { name: ${JSON.stringify(name)}, version: "2.0.0" }, {
  async sayHello(req) {
    await new Promise((r) => setTimeout(r, ${delayMs}));
    return { message: "${name} says hello to " + req.name };
  },
});
`;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}
