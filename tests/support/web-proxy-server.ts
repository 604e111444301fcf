/**
 * A gateway proxying `/web/shop/...` to the URL given as the first argument, for running the
 * web proxy on Node and Deno from a Bun test. It prints `listening <port>` and serves until
 * killed. The registry is in memory: only the proxy is under test here.
 * @module
 */
import { createGateway } from "../../gateway/app.ts";
import { createMemoryRegistry, createMemoryTransport, platformUpgradeWebSocket, registerWebService, serveHttp } from "../../runtime/mod.ts";

const registry = createMemoryRegistry();
await registerWebService(registry, { name: "shop", url: process.argv[2]! });
const app = createGateway({ transport: createMemoryTransport([]), registry, upgradeWebSocket: await platformUpgradeWebSocket() });
const server = await serveHttp(app.fetch, { port: 0 });
console.log(`listening ${server.port}`);
