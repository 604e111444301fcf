/**
 * One HTTP POST of a body to a collector (OTLP export), answered with its status. To an
 * `http:` collector, Bun and Node write the request straight to a kept-alive socket
 * (`socket-post.ts`): Bun's `fetch` copies each body into fresh memory first (~200 page faults
 * per 1 MB export, ~0.75 ms of the main thread in the RPC benchmark), and Node's `node:http`
 * and `fetch` (undici) build request objects and streams per request. To an `https:` one,
 * Node goes through `node:https` with a keep-alive agent, Bun and Deno through `fetch`; Deno
 * uses `fetch` for `http:` too (native there, and its `node:net` is not what it is tested on).
 * @module
 */
import { socketPoster } from "./socket-post.ts";

/** Posts `body` to `url` with `headers`; resolves with the response status (the response body is read and dropped), rejects on a network error or after `timeoutMs`. */
export type HttpPost = (url: string, headers: Record<string, string>, body: Uint8Array | string, timeoutMs: number) => Promise<number>;

const onDeno = "Deno" in globalThis;
const onNode = typeof process !== "undefined" && process.versions?.node !== undefined && process.versions.bun === undefined && !onDeno;

/** The poster of this runtime (see the module doc). */
export async function httpPoster(): Promise<HttpPost> {
  if (onDeno) return fetchPost;
  const plain = await socketPoster();
  const secure = onNode ? await httpsPoster() : fetchPost;
  return (url, headers, body, timeoutMs) => (url.startsWith("http:") ? plain : secure)(url, headers, body, timeoutMs);
}

/** Node's poster to `https:` collectors: `node:https` with a keep-alive agent. */
async function httpsPoster(): Promise<HttpPost> {
  const https = await import("node:https");
  const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
  return (url, headers, body, timeoutMs) =>
    new Promise<number>((resolve, reject) => {
      const request = https.request(url, {
        method: "POST",
        agent,
        headers: { ...headers, "content-length": String(typeof body === "string" ? Buffer.byteLength(body) : body.length) },
        timeout: timeoutMs,
      }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode ?? 0));
        response.on("error", reject);
      });
      request.on("timeout", () => request.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      request.on("error", reject);
      request.end(body);
    });
}

const fetchPost: HttpPost = async (url, headers, body, timeoutMs) => {
  const response = await fetch(url, { method: "POST", headers, body: body as BodyInit, signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer().catch(() => undefined);
  return response.status;
};
