/**
 * go-micro's api handler: an API service (type `api`) gets the HTTP request as a
 * `micro.api.v1.Request` and answers a `micro.api.v1.Response`, which becomes the HTTP reply.
 * @module
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type Pair, type Request as ApiRequest, RequestSchema, ResponseSchema } from "../gen/micro/api/v1/api_pb.ts";
import { MicroError } from "../runtime/mod.ts";
import { readBody } from "./json-body.ts";

/** As `Request.text()` decodes: invalid bytes become U+FFFD (the api handler passes bodies on as they are). */
const decoder = new TextDecoder();

/** The api Request of an HTTP request, as protobuf binary; `dropHeaders` (credentials) are left out. */
export async function encodeApiRequest(request: Request, dropHeaders: readonly string[]): Promise<Uint8Array> {
  const url = new URL(request.url);
  const header: Record<string, Pair> = {};
  request.headers.forEach((value, key) => {
    if (!dropHeaders.includes(key)) add(header, key, value);
  });
  const get: Record<string, Pair> = {};
  url.searchParams.forEach((value, key) => add(get, key, value));
  const body = request.method === "GET" || request.method === "HEAD" ? "" : decoder.decode(await readBody(request));
  const post: Record<string, Pair> = {};
  const contentType = request.headers.get("content-type") ?? "";
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    new URLSearchParams(body).forEach((value, key) => add(post, key, value));
  } else if (contentType.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await new Response(body, { headers: { "content-type": contentType } }).formData();
    } catch (error) {
      throw new MicroError("invalid_argument", `the multipart body cannot be read: ${(error as Error).message}`);
    }
    // Text fields only: the api Request carries text; a file arrives as its name.
    form.forEach((value, key) => add(post, key, typeof value === "string" ? value : value.name));
  }
  const message: ApiRequest = create(RequestSchema, { method: request.method, path: url.pathname, header, get, post, body, url: url.href });
  return toBinary(RequestSchema, message);
}

/** The HTTP response of an api Response (binary); `internal` for one HTTP cannot carry. */
export function decodeApiResponse(data: Uint8Array, service: string): Response {
  let reply;
  try {
    reply = fromBinary(ResponseSchema, data);
  } catch (error) {
    throw new MicroError("internal", `api service ${service} answered something that is not a micro.api.v1.Response: ${(error as Error).message}`);
  }
  const status = reply.statusCode === 0 ? 200 : reply.statusCode;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new MicroError("internal", `api service ${service} answered HTTP status ${reply.statusCode} (must be 200-599, or 0 for 200)`);
  }
  const headers = new Headers();
  try {
    for (const [name, pair] of Object.entries(reply.header)) for (const value of pair.values) headers.append(pair.key || name, value);
  } catch (error) {
    throw new MicroError("internal", `api service ${service} answered a bad header: ${(error as Error).message}`);
  }
  const empty = status === 204 || status === 205 || status === 304;
  return new Response(empty ? null : reply.body, { status, headers });
}

function add(map: Record<string, Pair>, key: string, value: string): void {
  const pair = map[key];
  if (pair === undefined) map[key] = { $typeName: "micro.api.v1.Pair", key, values: [value] };
  else pair.values.push(value);
}
