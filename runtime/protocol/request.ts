/**
 * The headers of a request, written in one place: content type, timeout, caller metadata and
 * the calling instance. Clients, the gateway, the sidecar, the CLI and the actor router all
 * build their request headers here.
 * @module
 */
import { headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { contentTypeHeader, emitDefaultsHeader, fromHeader, metadataPrefix, timeoutHeader, traceparentHeader, tracestateHeader } from "./headers.ts";
import type { TraceContext } from "./trace-context.ts";
import { assertMetadata } from "./metadata.ts";

/** What a request's headers say. */
export interface RequestHeaderInit {
  /** Left out means protobuf binary (or JSON when the payload starts with `{`). */
  readonly contentType?: string;
  /** Milliseconds the caller will still wait. */
  readonly timeoutMs?: number;
  /** Caller metadata, checked by {@link writeMetadata}. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** More metadata, applied after (and over) `metadata`. */
  readonly moreMetadata?: Readonly<Record<string, string>>;
  /** The calling instance, when the call is made from a handler. */
  readonly from?: string;
  /** The caller's span (W3C Trace Context), when the call is traced. */
  readonly trace?: TraceContext;
  /** Ask a JSON reply to carry default-valued fields too ({@link emitDefaultsHeader}). */
  readonly emitDefaults?: boolean;
}

/**
 * New request headers; `invalid_argument` when the metadata cannot be sent. The header set is
 * fresh, so values are appended (nats.js's `set` searches for a key to replace first: a visible
 * cost per call at the gateway).
 */
export function requestHeaders(init: RequestHeaderInit): MsgHdrs {
  const h = natsHeaders();
  if (init.contentType !== undefined) h.append(contentTypeHeader, init.contentType);
  if (init.timeoutMs !== undefined) h.append(timeoutHeader, String(Math.max(1, Math.ceil(init.timeoutMs))));
  const metadata = init.moreMetadata === undefined
    ? init.metadata
    : init.metadata === undefined
    ? init.moreMetadata
    : { ...init.metadata, ...init.moreMetadata };
  if (metadata !== undefined) {
    assertMetadata(metadata);
    for (const key in metadata) h.append(metadataPrefix + key, metadata[key]!);
  }
  if (init.from !== undefined) h.append(fromHeader, init.from);
  if (init.trace !== undefined) {
    h.append(traceparentHeader, init.trace.traceparent);
    if (init.trace.tracestate) h.append(tracestateHeader, init.trace.tracestate);
  }
  if (init.emitDefaults === true) h.append(emitDefaultsHeader, "1");
  return h;
}
