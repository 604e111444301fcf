/**
 * Calls from NATS to the app over HTTP, and the app's answers back as replies or errors.
 *
 * A call becomes `POST {app}{path}` with the request as JSON and its context in headers:
 * `X-Micro-Service`, `X-Micro-Endpoint`, `X-Micro-Timeout` (ms the caller still waits) and one
 * `X-Micro-Meta-{key}` per metadata entry. A 2xx answer's JSON body is the reply (an empty
 * body is `{}`). Anything else is an error: its code is the body's `code` when that is a
 * jetmicro code, else the one for the HTTP status (404 → not_found, 503 → unavailable, ...),
 * and its message the body's `message`, `detail` or `error`, or the body text.
 * @module
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { isCode, MicroError } from "../../runtime/mod.ts";
import { codeFromHttpStatus } from "../../runtime/protocol/mod.ts";
import type { HandlerContext } from "../../runtime/mod.ts";
import { appEndpointHeader, appServiceHeader, metaHeaderPrefix, timeoutHeader } from "../http-headers.ts";
import type { JsonEndpoint } from "./json-service.ts";

/** Longest app error text passed on to callers. */
const maxErrorText = 500;

/** Sends one call to the app at `baseUrl` and resolves with its JSON reply. */
export async function forwardCall(baseUrl: string, endpoint: JsonEndpoint, request: JsonValue, ctx: HandlerContext): Promise<JsonValue> {
  const headers = new Headers({
    "content-type": "application/json",
    accept: "application/json",
    [appServiceHeader]: ctx.service.name,
    [appEndpointHeader]: endpoint.name,
    [timeoutHeader]: String(Math.max(1, ctx.deadline - Date.now())),
  });
  for (const [key, value] of Object.entries(ctx.metadata)) headers.set(`${metaHeaderPrefix}${key}`, value);
  const url = `${baseUrl}${endpoint.path}`;
  let response: Response;
  try {
    response = await fetch(url, { method: "POST", headers, body: JSON.stringify(request), signal: ctx.signal });
  } catch (cause) {
    // The deadline passed or the sidecar stopped: say that, not "fetch failed".
    if (ctx.signal.aborted) throw MicroError.from(ctx.signal.reason, "unavailable");
    throw new MicroError("unavailable", `cannot reach the app of ${ctx.service.name} at ${url}: ${fetchFailure(cause)}`, { cause });
  }
  const text = await response.text();
  if (!response.ok) throw appError(response.status, text, `${ctx.service.name} ${endpoint.name}`);
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new MicroError("internal", `the app of ${ctx.service.name} answered ${endpoint.name} with a body that is not JSON: ${clip(text)}`);
  }
}

/**
 * The error an app's non-2xx answer stands for: the body's jetmicro `code` if it has one,
 * else the code of the HTTP status; the body's message, or its text.
 */
export function appError(status: number, body: string, what: string): MicroError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const o = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const code = isCode(o.code) ? o.code : codeFromHttpStatus(status);
  const text = [o.message, o.detail, o.error].find((v): v is string => typeof v === "string" && v !== "") ??
    (body.trim() === "" ? `${what} failed with HTTP ${status}` : body.trim());
  const detail = typeof o.detail === "string" && o.detail !== text ? clip(o.detail) : undefined;
  return new MicroError(code, clip(text), detail === undefined ? {} : { detail });
}

/** Why a fetch failed, with the system error code Node keeps in `cause` (`ECONNREFUSED`). */
export function fetchFailure(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: unknown } };
  const code = typeof e.cause?.code === "string" ? ` (${e.cause.code})` : "";
  return `${e.message ?? String(error)}${code}`;
}

function clip(text: string): string {
  return text.length <= maxErrorText ? text : `${text.slice(0, maxErrorText)}… (truncated)`;
}
