import { createGateway, type GatewayOptions } from "../../gateway/app.ts";
import { serveHttp } from "../../runtime/platform/http-server.ts";

/** A gateway listening on a free port of 127.0.0.1, so tests go over real HTTP. */
export async function startTestGateway(options: GatewayOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = createGateway(options);
  const server = await serveHttp(app.fetch, { port: 0 });
  return { url: `http://127.0.0.1:${server.port}`, close: () => server.close() };
}
