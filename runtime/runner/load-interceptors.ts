/**
 * Interceptors named in the settings (`MICRO_INTERCEPTORS`, `"interceptors"` in
 * `micro.config.json`): modules whose default export is an `Interceptor`, which the runner puts
 * around every service it runs.
 * @module
 */
import { MicroError } from "../errors/micro-error.ts";
import { importFile } from "../platform/modules.ts";
import type { Interceptor } from "../protocol/mod.ts";

/** Imports each module and returns its default export; `invalid_argument` naming a module that does not export an interceptor. */
export async function loadInterceptors(paths: readonly string[]): Promise<Interceptor[]> {
  const interceptors: Interceptor[] = [];
  for (const path of paths) {
    let module: Record<string, unknown>;
    try {
      module = await importFile(path);
    } catch (error) {
      throw new MicroError("invalid_argument", `interceptor module ${path} (MICRO_INTERCEPTORS) cannot be loaded: ${(error as Error).message}`, { cause: error });
    }
    if (typeof module.default !== "function") {
      throw new MicroError("invalid_argument", `interceptor module ${path} (MICRO_INTERCEPTORS) must default-export an interceptor: export default (next) => async (request) => next(request)`);
    }
    interceptors.push(module.default as Interceptor);
  }
  return interceptors;
}
