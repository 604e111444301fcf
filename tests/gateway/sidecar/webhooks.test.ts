import { beforeAll, describe, expect, it } from "bun:test";
import { createSidecarApp } from "../../../gateway/sidecar/mod.ts";
import type { JetStreamBroker } from "../../../runtime/mod.ts";
import { json, startHttpApp, type TestHttpApp } from "../../support/http-app.ts";
import { withNats } from "../../support/nats.ts";
import { startSidecarStack } from "../../support/sidecar.ts";
import { eventually, until } from "../../support/wait.ts";

const { conn, teardown } = withNats();
let broker: JetStreamBroker;
let api: ReturnType<typeof createSidecarApp>;
let app: TestHttpApp;
let flakyFailures = 2;
// Added first, so it runs last: after the sidecar closed.
teardown(() => app.stop());

beforeAll(async () => {
  const stack = await startSidecarStack(conn);
  broker = stack.broker;
  teardown(() => stack.close());
  api = createSidecarApp(stack.sidecar);
  app = startHttpApp((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/hooks/flaky" && flakyFailures-- > 0) return new Response("not yet", { status: 500 });
    if (path === "/hooks/down") return new Response("down", { status: 503 });
    return json({ ok: true });
  });
});

const post = (path: string, body: unknown) =>
  api.fetch(new Request(`http://sidecar${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }));
const publish = (topic: string, data: unknown) => broker.publish(topic, new TextEncoder().encode(JSON.stringify(data)), { contentType: "application/json", user: "u1" });
const received = (path: string) => app.requests.filter((r) => r.path === path).map((r) => ({ ...JSON.parse(r.body), header: r.headers.get("x-micro-event-deliveries") }));

describe("webhook subscriptions", () => {
  it("POSTs each event to the app and acknowledges it on 2xx", async () => {
    const res = await post("/subscriptions", { topic: "signup.>", url: `${app.url}/hooks/ok`, service: "mailer" });
    expect(res.status).toBe(201);
    const { id } = await res.json() as { id: string };
    const stored = await publish("signup.done", { email: "ada@example.com" });
    await until(() => received("/hooks/ok").length === 1);
    expect(received("/hooks/ok")[0]).toMatchObject({ id: stored.id, topic: "signup.done", user: "u1", data: { email: "ada@example.com" }, deliveries: 1, header: "1" });
    await Bun.sleep(300); // acknowledged: never delivered again
    expect(received("/hooks/ok").length).toBe(1);

    // Durable: what the service misses while unsubscribed arrives when it subscribes again.
    const stop = await api.fetch(new Request(`http://sidecar/subscriptions/${id}`, { method: "DELETE" }));
    expect(stop.status).toBe(200);
    const missed = await publish("signup.done", { email: "bo@example.com" });
    await Bun.sleep(200);
    expect(received("/hooks/ok").length).toBe(1);
    expect((await post("/subscriptions", { topic: "signup.>", url: `${app.url}/hooks/ok`, service: "mailer" })).status).toBe(201);
    await until(() => received("/hooks/ok").length === 2);
    expect(received("/hooks/ok")[1]).toMatchObject({ id: missed.id, data: { email: "bo@example.com" } });
  });

  it("retries an event the app fails until it answers 2xx", async () => {
    expect((await post("/subscriptions", { topic: "billing.charged", url: `${app.url}/hooks/flaky`, service: "ledger" })).status).toBe(201);
    const stored = await publish("billing.charged", { amount: 5 });
    await until(() => received("/hooks/flaky").length === 3);
    expect(received("/hooks/flaky").map((e) => [e.id, e.deliveries])).toEqual([[stored.id, 1], [stored.id, 2], [stored.id, 3]]);
    await Bun.sleep(500);
    expect(received("/hooks/flaky").length).toBe(3);
  });

  it("dead-letters an event after maxDeliveries failures, with the app's answer as the error", async () => {
    expect((await post("/subscriptions", { topic: "audit.lost", url: `${app.url}/hooks/down`, service: "archiver", maxDeliveries: 2 })).status).toBe(201);
    const stored = await publish("audit.lost", { n: 1 });
    await until(() => received("/hooks/down").length === 2);
    const deadLetters = async () => {
      const found: Array<{ id: string; error: string }> = [];
      for await (const letter of broker.deadLetters("archiver")) found.push(letter);
      return found;
    };
    const letters = await eventually(deadLetters, (found) => found.length > 0, { timeoutMs: 5000, intervalMs: 50, what: "a dead letter of archiver" });
    expect(letters.map((l) => [l.id, l.error])).toEqual([[stored.id, `webhook ${app.url}/hooks/down answered 503 for event ${stored.id}`]]);
  });

  it("lists subscriptions, and says when one to stop does not exist", async () => {
    // Subscribing again (an app restarting) gives the running subscription, not a second one.
    const first = await (await api.fetch(new Request("http://sidecar/subscriptions"))).json() as { subscriptions: Array<{ id: string; service: string }> };
    const again = await post("/subscriptions", { topic: "billing.charged", url: `${app.url}/hooks/flaky`, service: "ledger" });
    expect((await again.json() as { id: string }).id).toBe(first.subscriptions.find((s) => s.service === "ledger")!.id);
    const res = await api.fetch(new Request("http://sidecar/subscriptions"));
    const { subscriptions } = await res.json() as { subscriptions: Array<{ topic: string; service: string }> };
    expect(subscriptions.map((s) => `${s.service} ${s.topic}`).sort()).toEqual(["archiver audit.lost", "ledger billing.charged", "mailer signup.>"]);
    expect((await api.fetch(new Request("http://sidecar/subscriptions/nope", { method: "DELETE" }))).status).toBe(404);
  });
});
