/**
 * Finding and importing service modules. The only module-loading code that touches `node:`
 * APIs, which Bun, Deno and Node all provide.
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const moduleFile = /\.(ts|mts|js|mjs)$/;
const skipped = /(^[._])|(\.test\.|\.spec\.|\.d\.ts$)/;

/**
 * The service modules in `dir`, sorted: `.ts`/`.js` files, not tests, not declaration files,
 * not names starting with `_` or `.` (helpers shared by services). A folder counts through its
 * `mod.ts` or `index.ts`.
 */
export function listServiceModules(dir: string): string[] {
  const root = resolve(dir);
  const found: string[] = [];
  for (const name of readdirSync(root).sort()) {
    if (skipped.test(name)) continue;
    const path = join(root, name);
    // A module file that cannot be stat'ed (a dangling symlink, removed as we list) is still
    // listed, so its import fails and is reported by file; throwing here took down micro run
    // and every other service with a stack trace.
    const stats = statOrUndefined(path);
    if (stats === undefined) {
      if (moduleFile.test(name)) found.push(path);
    } else if (stats.isDirectory()) {
      const entry = ["mod.ts", "index.ts"].map((f) => join(path, f)).find(isFile);
      if (entry !== undefined) found.push(entry);
    } else if (moduleFile.test(name)) {
      found.push(path);
    }
  }
  return found;
}

/** Imports a module by file path (absolute or relative to the working directory). */
export function importFile(path: string): Promise<Record<string, unknown>> {
  return import(pathToFileURL(resolve(path)).href);
}

/** True when `dir` exists and is a directory. */
export function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** `path` relative to the working directory when it is inside it, for short log lines. */
export function displayPath(path: string): string {
  const cwd = process.cwd() + "/";
  return path.startsWith(cwd) ? path.slice(cwd.length) : path;
}

function statOrUndefined(path: string): ReturnType<typeof statSync> | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
