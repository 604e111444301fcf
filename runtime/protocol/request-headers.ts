import type { Msg, MsgHdrs } from "@nats-io/nats-core";
import { traceparentHeader, tracestateHeader } from "./headers.ts";
import { type TraceContext, traceContextInBytes, traceContextOf } from "./trace-context.ts";

/** Read access to the headers of a request, as the server needs it. */
export interface RequestHeaders {
  /** The first value of header `name` (exact name), or undefined. */
  get(name: string): string | undefined;
  /** The caller's trace context (`traceparent`, `tracestate`), checked; undefined when there is none or it is malformed. */
  traceContext(): TraceContext | undefined;
  /** All headers, parsed (for metadata); undefined when there are none. */
  all(): MsgHdrs | undefined;
  /** The subject the caller waits on for the reply, when the request came over NATS with one. */
  replySubject?(): string | undefined;
  /**
   * Records that the reply already went straight to {@link replySubject} (the actor router's
   * caller, answered by the key's owner): the server then sends none of its own.
   */
  markAnswered?(): void;
  /** True once {@link markAnswered} was called. */
  readonly answered?: boolean;
}

const latin1 = new TextDecoder("latin1");

/** Headers of a plain `MsgHdrs` (or none). */
export function headersOf(headers: MsgHdrs | undefined): RequestHeaders {
  const get = (name: string) => headers?.get(name) || undefined;
  return { get, traceContext: () => traceContextBy(get), all: () => headers };
}

/** The trace context of the headers `get` reads: no `tracestate` lookup for a call that carries no `traceparent`. */
function traceContextBy(get: (name: string) => string | undefined): TraceContext | undefined {
  const traceparent = get(traceparentHeader);
  return traceparent === undefined ? undefined : traceContextOf(traceparent, get(tracestateHeader));
}

/**
 * Headers of a received NATS message, read without parsing them all. nats.js parses every
 * header (validating and canonicalising each key) the first time `msg.headers` is touched;
 * the server needs a few values per request, so it reads the raw header block instead, and
 * parses fully only when a handler reads its metadata. Falls back to `msg.headers` if the
 * message does not expose its raw bytes (another nats.js version).
 *
 * The block is split into lines once, on the first lookup (where each name and value starts
 * and ends); a lookup then compares names at those places. The server asks for absent headers
 * on every call (is it a stream? a content type? a `tracestate`?), and searching the whole
 * block for each, then a lowered copy of it for other clients' casing, cost more than the split.
 */
export class MsgRequestHeaders implements RequestHeaders {
  readonly #msg: Msg;
  #text: string | null | undefined = undefined;
  /** Per header line: name start, value start (after its colon), value end; empty when there are none. */
  #lines: number[] | undefined = undefined;

  constructor(msg: Msg) {
    this.#msg = msg;
  }

  get(name: string): string | undefined {
    const text = (this.#text ??= rawHeaderText(this.#msg));
    if (text === null) return this.#msg.headers?.get(name) || undefined;
    const line = this.#find(text, name);
    return line < 0 ? undefined : text.slice(this.#lines![line + 1], this.#lines![line + 2]).trim();
  }

  /** Read from the raw bytes: the value is never cut out as text (the text is made only if something reads it). */
  traceContext(): TraceContext | undefined {
    const text = (this.#text ??= rawHeaderText(this.#msg));
    if (text === null) return traceContextBy((name) => this.get(name));
    const line = this.#find(text, traceparentHeader);
    if (line < 0) return undefined;
    const start = this.#lines![line + 1]!;
    // The block's text is its bytes as latin1: one character per byte, at the same offsets.
    const bytes = (this.#msg as unknown as { _rdata: Uint8Array })._rdata;
    return traceContextInBytes(bytes, start, this.#lines![line + 2]! - start, () => this.get(tracestateHeader));
  }

  /**
   * The index in {@link #lines} of the first line named `name`, or -1. Names are compared in
   * their exact case first (jetmicro's own), then ignoring ASCII case, as other clients may
   * write them (`content-type`).
   */
  #find(text: string, name: string): number {
    const lines = (this.#lines ??= headerLines(text));
    const length = name.length;
    for (let i = 0; i < lines.length; i += 3) {
      if (lines[i + 1]! - 1 - lines[i]! === length && text.startsWith(name, lines[i]!)) return i;
    }
    for (let i = 0; i < lines.length; i += 3) {
      if (lines[i + 1]! - 1 - lines[i]! === length && sameIgnoringCase(text, lines[i]!, name)) return i;
    }
    return -1;
  }

  all(): MsgHdrs | undefined {
    return this.#msg.headers;
  }

  replySubject(): string | undefined {
    return this.#msg.reply || undefined;
  }

  answered = false;

  markAnswered(): void {
    this.answered = true;
  }
}

/**
 * The header lines of a block (`NATS/1.0[ status]\r\n`, then `Name: value\r\n` lines, then an
 * empty line): for each, where its name starts, where its value starts (just after the colon)
 * and where it ends.
 * A line without a colon, or starting with one, names nothing and is left out.
 */
function headerLines(text: string): number[] {
  const lines: number[] = [];
  let at = text.indexOf("\r\n");
  while (at >= 0) {
    const start = at + 2;
    const next = text.indexOf("\r\n", start);
    const end = next < 0 ? text.length : next;
    if (end === start) break;
    const colon = text.indexOf(":", start);
    if (colon > start && colon < end) lines.push(start, colon + 1, end);
    at = next;
  }
  return lines;
}

/** True when `text` at `at` is `name` but for the case of ASCII letters. */
function sameIgnoringCase(text: string, at: number, name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const a = text.charCodeAt(at + i);
    const b = name.charCodeAt(i);
    if (a === b) continue;
    const lower = a | 32;
    if (lower !== (b | 32) || lower < 97 || lower > 122) return false;
  }
  return true;
}

/** The header block as text ("" without headers), or null when the raw bytes are not reachable. */
function rawHeaderText(msg: Msg): string | null {
  const raw = msg as unknown as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  const length = raw._msg?.hdr;
  if (typeof length !== "number" || !(raw._rdata instanceof Uint8Array)) return null;
  return length > 0 ? latin1.decode(raw._rdata.subarray(0, length)) : "";
}
