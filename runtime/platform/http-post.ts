/**
 * One HTTP POST of a body to a collector (OTLP export), answered with its status. On Node it
 * goes through `node:http` with a keep-alive agent: Node's `fetch` (undici) builds a Web
 * `Request`, streams and an abort controller per request, several times the CPU of the write
 * itself, which a process exporting spans pays a few times a second. Bun and Deno use `fetch`,
 * which is native there.
 * @module
 */

/** Posts `body` to `url` with `headers`; resolves with the response status (the response body is read and dropped), rejects on a network error or after `timeoutMs`. */
export type HttpPost = (url: string, headers: Record<string, string>, body: Uint8Array | string, timeoutMs: number) => Promise<number>;

const onNode = typeof process !== "undefined" && process.versions?.node !== undefined && process.versions.bun === undefined && !("Deno" in globalThis);

/** The poster of this runtime (see the module doc). */
export async function httpPoster(): Promise<HttpPost> {
  if (!onNode) return fetchPost;
  const http = await import("node:http");
  const https = await import("node:https");
  const agents = { "http:": new http.Agent({ keepAlive: true, maxSockets: 2 }), "https:": new https.Agent({ keepAlive: true, maxSockets: 2 }) };
  return (url, headers, body, timeoutMs) =>
    new Promise<number>((resolve, reject) => {
      const secure = url.startsWith("https:");
      const request = (secure ? https : http).request(url, {
        method: "POST",
        agent: agents[secure ? "https:" : "http:"],
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
