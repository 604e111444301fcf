/**
 * Runs the runtime's OTLP poster (`runtime/platform/http-post.ts`) in a process of its own
 * (Node takes the `node:http` path, Bun and Deno `fetch`): `<url> <timeoutMs>` posts a small
 * body twice (the second on the kept-alive connection) and prints `status <n>` per post, or
 * `error <message>`.
 */
import { httpPoster } from "../../runtime/platform/http-post.ts";

const [url, timeout] = process.argv.slice(2);
const post = await httpPoster();
for (let i = 0; i < 2; i++) {
  try {
    console.log(`status ${await post(url!, { "content-type": "application/x-protobuf", "x-round": String(i) }, new Uint8Array([1, 2, 3, i]), Number(timeout))}`);
  } catch (error) {
    console.log(`error ${(error as Error).message}`);
  }
}
process.exit(0);
