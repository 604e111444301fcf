/**
 * What RPC bodies may be. A browser sends `text/plain`, `application/x-www-form-urlencoded`
 * and `multipart/form-data` (or no type at all) cross-site without a CORS preflight, so a
 * hostile page could make its visitors' browsers call services; JSON (and protobuf, where a
 * route takes it) needs a preflight, which the gateway's CORS settings answer. RPC routes
 * (`/rpc`, paths to srv services, the sidecar's API) therefore take a body only with a JSON
 * content type: anything else is 415 before the body is read. API services (type `api`) get
 * the HTTP request as it came, form posts included: they are web handlers and judge it.
 * @module
 */
import { MicroError } from "../runtime/mod.ts";
import { shown } from "../runtime/protocol/mod.ts";
import { hasBody } from "./body-framing.ts";

/** Metadata `reason` of the error for a content type a route does not take: HTTP 415. */
export const unsupportedMediaTypeReason = "unsupported_media_type";

/** The media type of a `Content-Type` value, lower case, without parameters. */
export function mediaType(contentType: string | null | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

/** True for `application/json` and `application/*+json`. */
export function isJsonMediaType(type: string): boolean {
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * Refuses (415, naming the route) a request with a body whose content type is not JSON.
 * A request without a body (no Content-Length, or 0, and not chunked) passes whatever it says.
 */
export function assertJsonContentType(headers: Headers, route: string): void {
  if (!hasBody(headers)) return;
  const type = mediaType(headers.get("content-type"));
  if (isJsonMediaType(type)) return;
  throw new MicroError(
    "invalid_argument",
    `${route} takes JSON bodies only: send Content-Type: application/json${type === "" ? "" : `, not "${shown(type)}"`} (curl --json '{...}')`,
    { detail: "content-type", metadata: { reason: unsupportedMediaTypeReason } },
  );
}
