/**
 * The one bounded way the gateway and the sidecar read and write JSON. A body is decoded as
 * strict UTF-8 (invalid bytes are a 400, never silently replaced with U+FFFD), its nesting
 * depth is counted before `JSON.parse` sees it (100,000 nested arrays would otherwise overflow
 * the stack of the parse, or of a later stringify, and stall every service the process
 * hosts), and a stringify that fails is an error naming what could not be written, never a
 * 500 with a stack overflow.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";

/** Deepest nesting of objects and arrays accepted; protobuf JSON messages are far shallower. */
export const maxJsonDepth = 64;

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** `bytes` as text; `invalid_argument` naming `what` when they are not valid UTF-8. */
export function strictUtf8(bytes: Uint8Array, what: string): string {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new MicroError("invalid_argument", `${what} is not valid UTF-8`, { detail: what });
  }
}

/**
 * The deepest nesting of `[`/`{` in JSON `text` (brackets inside strings do not count),
 * stopping as soon as it passes `limit`. Linear, no recursion.
 */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 91 /* [ */ || ch === 123 /* { */) {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return deepest;
      }
    } else if (ch === 93 /* ] */ || ch === 125 /* } */) depth--;
  }
  return deepest;
}

/** `JSON.parse` of `text` nested at most {@link maxJsonDepth} deep; `invalid_argument` naming `what` and why. */
export function parseJson(text: string, what: string, maxDepth = maxJsonDepth): unknown {
  if (jsonDepth(text, maxDepth) > maxDepth) {
    throw new MicroError("invalid_argument", `${what} is nested more than ${maxDepth} levels deep`, { detail: what });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} is not valid JSON: ${(error as Error).message}`, { detail: what });
  }
}

/** {@link parseJson} of bytes decoded as strict UTF-8. */
export function parseJsonBytes(bytes: Uint8Array, what: string, maxDepth = maxJsonDepth): unknown {
  return parseJson(strictUtf8(bytes, what), what, maxDepth);
}

/** A request's body as strict UTF-8 text (`""` for none). */
export async function bodyText(request: { arrayBuffer(): Promise<ArrayBuffer> }, what = "the body"): Promise<string> {
  return strictUtf8(new Uint8Array(await request.arrayBuffer()), what);
}

/**
 * `JSON.stringify(value)`; `invalid_argument` naming `what` when it cannot be written (too
 * deep for the stack, a cycle, a BigInt). Values parsed by {@link parseJson} always can.
 */
export function stringifyJson(value: unknown, what: string): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} cannot be written as JSON: ${(error as Error).message}`, { detail: what });
  }
}
