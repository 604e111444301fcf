/** A plain HTTP app on a free local port, standing in for an app written in another language. */
export interface TestHttpApp {
  readonly url: string;
  /** Requests received so far, oldest first. */
  readonly requests: { method: string; path: string; headers: Headers; body: string }[];
  stop(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1 (a free port) and records every request. */
export function startHttpApp(handler: (request: Request, body: string) => Response | Promise<Response>): TestHttpApp {
  const requests: TestHttpApp["requests"] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const body = await request.text();
      requests.push({ method: request.method, path: new URL(request.url).pathname, headers: request.headers, body });
      return handler(request, body);
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, requests, stop: async () => void (await server.stop(true)) };
}

/** A JSON response. */
export function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });
}
