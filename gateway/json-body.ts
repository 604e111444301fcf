/**
 * The one bounded way the gateway and the sidecar read and write JSON. A body is decoded as
 * strict UTF-8 (invalid bytes are a 400, never silently replaced with U+FFFD), its nesting
 * depth is counted before `JSON.parse` sees it (100,000 nested arrays would otherwise overflow
 * the stack of the parse, or of a later stringify, and stall every service the process
 * hosts), and a stringify that fails is an error naming what could not be written, never a
 * 500 with a stack overflow.
 *
 * A chunked body (no declared length) is counted while it arrives ({@link readJsonBody}): one
 * nested too deep is refused at the chunk that crosses the limit and the rest is never read,
 * so a caller cannot make the gateway buffer (or wait for) an endless body it will refuse
 * anyway. A body of declared length, which the body limit has already bounded, is read whole
 * and then scanned: the runtime reads the rest of a refused body anyway to keep the connection,
 * and one native read costs the gateway less than a stream read (deep JSON of 200 KB: about
 * 70 µs less of CPU per refusal on Bun). A refused body's memory is given back at once (see
 * `release`), so a flood of them does not keep handing the allocator fresh pages.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { readNodeBody } from "../runtime/platform/node-request-body.ts";
import { bodyArrived, bodyReading, declaredLength } from "./body-framing.ts";
import { JsonDepthScan, nestedDeeper } from "./json-depth-scan.ts";

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

/** `JSON.parse` of `text` nested at most {@link maxJsonDepth} deep; `invalid_argument` naming `what` and why. */
export function parseJson(text: string, what: string, maxDepth = maxJsonDepth): unknown {
  if (nestedDeeper(text, maxDepth)) throw tooDeep(what, maxDepth);
  return parseCheckedJson(text, what);
}

/** `JSON.parse` of `text` whose depth was already bounded (read by {@link readJsonBody}); `invalid_argument` when it is not JSON. */
export function parseCheckedJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MicroError("invalid_argument", `${what} is not valid JSON: ${(error as Error).message}`, { detail: what });
  }
}

/**
 * A request's body bytes. With `maxDepth` they are counted as JSON (`invalid_argument` naming
 * the limit when they nest deeper). A body of declared length up to {@link wholeReadBytes} is
 * read whole and scanned once: the body limit bounds it, and the runtime would read the rest
 * of a refused body anyway to reuse the connection. Any other body (chunked) is read chunk by
 * chunk, scanned as it arrives, and the read stops at the first chunk nesting too deep: the
 * rest is never read. The size limit is the body limit's (`body-limit.ts`), whose error a
 * read passes on. One chunk is returned as it is, no copy.
 */
export async function readBody(request: Request, what = "the body", maxDepth?: number): Promise<Uint8Array> {
  bodyReading(request);
  const declared = declaredLength(request.headers);
  if (declared !== undefined && declared <= wholeReadBytes) {
    // On Node, straight from the socket: no Web Request and streams built for a few bytes.
    const fromNode = await readNodeBody(request);
    if (fromNode !== undefined) {
      if (maxDepth !== undefined && nestedDeeper(fromNode, maxDepth)) throw tooDeep(what, maxDepth);
      bodyArrived(request);
      return fromNode;
    }
    const buffer = await request.arrayBuffer();
    const bytes = new Uint8Array(buffer);
    if (maxDepth !== undefined && nestedDeeper(bytes, maxDepth)) {
      release(buffer);
      throw tooDeep(what, maxDepth);
    }
    bodyArrived(request);
    return bytes;
  }
  const body = request.body;
  if (body === null) return empty;
  const reader = body.getReader();
  const scan = maxDepth === undefined ? undefined : new JsonDepthScan(maxDepth);
  let first: Uint8Array | undefined;
  let more: Uint8Array[] | undefined;
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (scan !== undefined && scan.exceeded(value)) {
      // Stops the body where it is: a deep prefix followed by a body that never ends is answered now.
      reader.cancel().catch(() => {});
      throw tooDeep(what, maxDepth!);
    }
    size += value.length;
    if (first === undefined) first = value;
    else (more ??= []).push(value);
  }
  // Read to its end: the time limit tells a client that stopped sending from a slow answer by this.
  bodyArrived(request);
  if (first === undefined) return empty;
  if (more === undefined) return first;
  const bytes = new Uint8Array(size);
  bytes.set(first, 0);
  let offset = first.length;
  for (const chunk of more) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/**
 * A request's JSON body as strict UTF-8 text (`""` for none), nested at most `maxDepth` deep,
 * checked while it arrives (see {@link readBody}); parse it with {@link parseCheckedJson}.
 */
export async function readJsonBody(request: Request, what = "the body", maxDepth = maxJsonDepth): Promise<{ bytes: Uint8Array; text: string }> {
  const bytes = await readBody(request, what, maxDepth);
  return { bytes, text: strictUtf8(bytes, what) };
}

/** A request's body as strict UTF-8 JSON text (`""` for none), its depth bounded as it arrives. */
export async function bodyText(request: Request, what = "the body"): Promise<string> {
  return (await readJsonBody(request, what)).text;
}

const empty = new Uint8Array(0);
/**
 * Largest declared body read whole rather than as a stream (see {@link readBody}): the default
 * body limit, so every body of declared length is, unless an operator raised the limit.
 */
const wholeReadBytes = 1024 * 1024;

/**
 * Gives a refused body's memory back now rather than at the next garbage collection, by
 * detaching its buffer (`transfer(0)`; Bun, Deno and Node 21+; a no-op where it is missing).
 * A refused body of up to the body limit, held until a collection, makes the allocator hand
 * the next one fresh pages: on Bun, deep JSON of 200 KB mixed into normal calls cost about
 * 16 page faults each and twice the CPU of the same refusal sent alone; freed at once, the
 * next body reuses the same pages while they are still in the cache. Only for a buffer this
 * module owns (from `Request.arrayBuffer()`), never a view into a shared one.
 */
function release(buffer: ArrayBuffer): void {
  (buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }).transfer?.(0);
}

function tooDeep(what: string, maxDepth: number): MicroError {
  return new MicroError("invalid_argument", `${what} is nested more than ${maxDepth} levels deep`, { detail: what });
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
