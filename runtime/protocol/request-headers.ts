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
 * the server needs two values per request, so it scans the raw header block instead, and
 * parses fully only when a handler reads its metadata. Falls back to `msg.headers` if the
 * message does not expose its raw bytes (another nats.js version).
 */
export class MsgRequestHeaders implements RequestHeaders {
  readonly #msg: Msg;
  #text: string | null | undefined = undefined;
  #lower: string | undefined = undefined;

  constructor(msg: Msg) {
    this.#msg = msg;
  }

  get(name: string): string | undefined {
    const text = (this.#text ??= rawHeaderText(this.#msg));
    if (text === null) return this.#msg.headers?.get(name) || undefined;
    const start = this.#valueAt(text, name);
    if (start < 0) return undefined;
    const end = text.indexOf("\r\n", start);
    return text.slice(start, end < 0 ? undefined : end).trim();
  }

  /** Read from the raw bytes: the value is never cut out as text (the text is made only if something reads it). */
  traceContext(): TraceContext | undefined {
    const text = (this.#text ??= rawHeaderText(this.#msg));
    if (text === null) return traceContextBy((name) => this.get(name));
    const start = this.#valueAt(text, traceparentHeader);
    if (start < 0) return undefined;
    const end = text.indexOf("\r\n", start);
    // The block's text is its bytes as latin1: one character per byte, at the same offsets.
    const bytes = (this.#msg as unknown as { _rdata: Uint8Array })._rdata;
    return traceContextInBytes(bytes, start, (end < 0 ? text.length : end) - start, () => this.get(tracestateHeader));
  }

  /** Where the value of header `name` starts in the block's `text`, or -1 when it is absent. */
  #valueAt(text: string, name: string): number {
    const [key, lowerKey] = searchKeys(name);
    let at = text.indexOf(key);
    // Header names are case-insensitive to other clients (`content-type`); exact case is the
    // fast path. The server asks for absent headers on every call (is it a stream? a content
    // type?), so the lowered block is made once per message, not once per lookup.
    if (at < 0 && text.length > 0) at = (this.#lower ??= text.toLowerCase()).indexOf(lowerKey);
    return at < 0 ? -1 : at + key.length;
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

/** The search strings of a header name, exact and lowered; the server asks for the same few names per call. */
const keysByName = new Map<string, readonly [string, string]>();
const maxKeys = 64;

function searchKeys(name: string): readonly [string, string] {
  let keys = keysByName.get(name);
  if (keys === undefined) {
    keys = [`\r\n${name}:`, `\r\n${name.toLowerCase()}:`];
    if (keysByName.size < maxKeys) keysByName.set(name, keys);
  }
  return keys;
}

/** The header block as text ("" without headers), or null when the raw bytes are not reachable. */
function rawHeaderText(msg: Msg): string | null {
  const raw = msg as unknown as { _msg?: { hdr?: unknown }; _rdata?: unknown };
  const length = raw._msg?.hdr;
  if (typeof length !== "number" || !(raw._rdata instanceof Uint8Array)) return null;
  return length > 0 ? latin1.decode(raw._rdata.subarray(0, length)) : "";
}
