import { MicroError } from "../runtime/mod.ts";

/** `JSON.parse` with a 400 that names `what` failed and why. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} is not valid JSON: ${(error as Error).message}`);
  }
}
