/**
 * An audit-like event consumer as its own process, for crash tests: subscribes as service
 * `audit` (a durable consumer) to `order.>` on `NATS_URL`, reports each handled event id on
 * core NATS (`audit.done`), and prints "ready" once consuming. SIGKILL it mid catch-up.
 */
import { createJetStreamBroker } from "../../runtime/broker/nats-jetstream.ts";
import { connectNats } from "../../runtime/nats/connection.ts";

const nc = await connectNats({ servers: process.env.NATS_URL! });
const broker = await createJetStreamBroker(nc, { namespace: "audit.test" });
await broker.subscribe("order.>", async (event) => {
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.HANDLER_MS ?? "2")));
  nc.publish("audit.done", new TextEncoder().encode(event.id));
}, { service: "audit", concurrency: 16 });
console.log("ready");
