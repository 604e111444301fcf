/**
 * Counting JSON nesting over bytes as they arrive, chunk by chunk, without decoding them:
 * every byte JSON's structure depends on (`"`, `\`, brackets) is ASCII, and no byte of a
 * multi-byte UTF-8 character is, so the count is right before the text is decoded. The scan
 * keeps its state (inside a string, after a backslash) across chunks. The one depth check of
 * the gateway: request bodies as they arrive, and whole texts ({@link nestedDeeper}).
 * @module
 */

const encoder = new TextEncoder();

/**
 * True when JSON `json` nests `[`/`{` deeper than `limit` (brackets inside strings do not
 * count). Text is scanned as its UTF-8 bytes; the scan stops where the limit is passed.
 */
export function nestedDeeper(json: string | Uint8Array, limit: number): boolean {
  return new JsonDepthScan(limit).exceeded(typeof json === "string" ? encoder.encode(json) : json);
}

/** A running count of `[`/`{` nesting over JSON bytes; see the module comment. */
export class JsonDepthScan {
  #depth = 0;
  #inString = false;
  #escaped = false;

  /** @param limit Deepest nesting allowed. */
  constructor(readonly limit: number) {}

  /** Counts `chunk`; true as soon as the nesting so far passes the limit (the rest of the chunk is not looked at). */
  exceeded(chunk: Uint8Array): boolean {
    let depth = this.#depth;
    let inString = this.#inString;
    let escaped = this.#escaped;
    const limit = this.limit;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (b === 92 /* \ */) escaped = true;
        else if (b === 34 /* " */) inString = false;
      } else if (b === 34) inString = true;
      else if (b === 91 /* [ */ || b === 123 /* { */) {
        if (++depth > limit) return true;
      } else if (b === 93 /* ] */ || b === 125 /* } */) depth--;
    }
    this.#depth = depth;
    this.#inString = inString;
    this.#escaped = escaped;
    return false;
  }
}
