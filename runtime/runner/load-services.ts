import { isServiceDefinition } from "../service/define.ts";
import type { ServiceDefinition } from "../service/types.ts";
import { resolve } from "node:path";
import { displayPath, importFile, isDirectory, listServiceModules } from "../platform/modules.ts";

/** A module that could not be loaded, named by file. */
export interface LoadFailure {
  readonly file: string;
  readonly error: string;
}

/** What {@link loadServices} found. */
export interface LoadedServices {
  readonly services: ReadonlyArray<{ readonly file: string; readonly definition: ServiceDefinition }>;
  readonly failures: readonly LoadFailure[];
}

/**
 * How long a module's top-level code may run before it is reported as failed and the next is
 * loaded: an `await` that never settles (a database that never answers) left micro run
 * silent, with no other service started and nothing naming the file.
 */
export const moduleImportTimeoutMs = 30_000;

/**
 * Imports every service module in `dir`. Each must default-export a service definition (or
 * an array of them). A module that throws, exports something else or does not finish loading
 * within `importTimeoutMs` is reported by file name and does not stop the others. With `only`
 * (a module path), that module alone is loaded.
 */
export async function loadServices(dir: string, only?: string, importTimeoutMs = moduleImportTimeoutMs): Promise<LoadedServices> {
  if (!isDirectory(dir)) return { services: [], failures: [{ file: dir, error: "no such directory" }] };
  const services: Array<{ file: string; definition: ServiceDefinition }> = [];
  const failures: LoadFailure[] = [];
  for (const path of listServiceModules(dir)) {
    if (only !== undefined && resolve(path) !== resolve(only)) continue;
    const file = displayPath(path);
    try {
      const module = await withinTime(importFile(path), importTimeoutMs);
      const exported = module.default;
      const definitions = Array.isArray(exported) ? exported : [exported];
      if (definitions.length === 0 || !definitions.every(isServiceDefinition)) {
        failures.push({ file, error: "the default export is not a service (use `export default defineService(...)`)" });
        continue;
      }
      // The same name and version from two modules would be two nodes of one service with
      // different handlers, each call reaching either at random: the later module is refused.
      const taken = definitions.map((d) => services.find((s) => s.definition.name === d.name && s.definition.version === d.version)).find((s) => s !== undefined);
      if (taken !== undefined) {
        failures.push({ file, error: `defines ${taken.definition.name} ${taken.definition.version}, as ${taken.file} does: calls would reach either at random (give one another name or version)` });
        continue;
      }
      for (const definition of definitions) services.push({ file, definition });
    } catch (error) {
      failures.push({ file, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return { services, failures };
}

/** `work`, or a rejection once `ms` have passed (the work itself cannot be stopped: an import runs on). */
async function withinTime<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish loading within ${ms / 1000} s (a top-level await that never settles?); the other modules go on`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
