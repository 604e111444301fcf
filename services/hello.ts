import { Hello } from "../gen/hello/v1/hello_pb.ts";
import type { Pair, Request } from "../gen/micro/api/v1/api_pb.ts";
import { defineService, MicroError } from "../runtime/mod.ts";

/**
 * An API service (go-micro's `micro.api.*`): the gateway hands it the HTTP request and sends
 * back the status, headers and body it answers. `GET /hello?name=Ada` → `{"message":"Hello Ada"}`.
 */
export default defineService(Hello, { type: "api", version: "1.0.0" }, {
  call(request) {
    const name = first(request.get, "name") ?? first(request.post, "name") ?? jsonName(request);
    if (!name) return json(400, { error: "name is required: ?name=Ada, a form field or a JSON body {\"name\"}" });
    return json(200, { message: `Hello ${name}` }, { "x-hello": [name] });
  },
  echo(request, ctx) {
    const header = Object.fromEntries(Object.entries(request.header).map(([k, p]) => [k, p.values]));
    const get = Object.fromEntries(Object.entries(request.get).map(([k, p]) => [k, p.values]));
    const post = Object.fromEntries(Object.entries(request.post).map(([k, p]) => [k, p.values]));
    return json(200, { method: request.method, path: request.path, url: request.url, header, get, post, body: request.body, metadata: ctx.metadata });
  },
});

function first(map: Record<string, Pair>, key: string): string | undefined {
  return map[key]?.values[0];
}

function jsonName(request: Request): string | undefined {
  if (request.body === "") return undefined;
  try {
    const name = (JSON.parse(request.body) as { name?: unknown }).name;
    return typeof name === "string" ? name : undefined;
  } catch {
    throw new MicroError("invalid_argument", "the body is not JSON");
  }
}

function json(statusCode: number, value: unknown, extra: Record<string, string[]> = {}) {
  const header: Record<string, { key: string; values: string[] }> = { "content-type": { key: "content-type", values: ["application/json"] } };
  for (const [key, values] of Object.entries(extra)) header[key] = { key, values };
  return { statusCode, header, body: JSON.stringify(value) };
}
