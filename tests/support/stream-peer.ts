/**
 * A stream peer to kill in tests: `serve <url>` runs a Counter service whose `count` never
 * ends on its own; `client <url>` opens a `count` stream with 200 ms heartbeats and prints
 * each message. Both print `ready` once they stream.
 */
import { Counter } from "../../gen/counter/v1/counter_pb.ts";
import { connectClient, defineService, startService } from "../../runtime/mod.ts";

const [mode, url] = process.argv.slice(2);
const micro = await connectClient({ servers: url });
if (mode === "serve") {
  const endless = defineService(Counter, { name: "endless" }, {
    async *count(_request, ctx) {
      for (let n = 1; !ctx.signal.aborted; n++) {
        yield { n };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  });
  await startService(endless, { connection: micro.nc, transport: micro.transport });
  console.log("ready");
} else {
  const counter = micro.client(Counter, { service: process.argv[4] ?? "counter" });
  let first = true;
  for await (const r of counter.count({ to: 1_000_000, intervalMs: 20 }, { heartbeatMs: 200 })) {
    if (first) console.log("ready");
    first = false;
    console.log(`got ${r.n}`);
  }
}
