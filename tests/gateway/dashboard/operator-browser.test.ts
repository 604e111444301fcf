import { beforeAll, describe, expect, it } from "bun:test";
import { Kvm } from "@nats-io/kv";
import type { Locator, Page } from "playwright-core";
import { Greeter } from "../../../gen/greeter/v1/greeter_pb.ts";
import { createGateway } from "../../../gateway/app.ts";
import { createClient, serveHttp } from "../../../runtime/mod.ts";
import { routeRulesKey } from "../../../runtime/protocol/mod.ts";
import { startTestBrowser } from "../../support/chromium.ts";
import { withNats } from "../../support/nats.ts";
import { eventually } from "../../support/wait.ts";
import { type OperatorFixture, startOperatorFixture } from "./operator-fixture.ts";

// What an operator does: opens the dashboard and watches, changes weights, redrives, publishes.
const { conn, teardown } = withNats();
let fixture: OperatorFixture;
let page: Page;
let base: string;

beforeAll(async () => {
  fixture = await startOperatorFixture(conn.nc, conn.transport);
  teardown(() => fixture.stop());
  const app = createGateway({ transport: conn.transport, registry: fixture.registry, broker: fixture.broker, operator: fixture.operator });
  const server = await serveHttp(app.fetch, { port: 0, hostname: "127.0.0.1" });
  teardown(() => server.close());
  base = `http://127.0.0.1:${server.port}`;
  const browser = await startTestBrowser();
  teardown(() => browser.close());
  page = await browser.context.newPage();
  await page.goto(`${base}/`);
}, 60_000);

/** Waits (up to 15 s) for the element's text to match. */
async function expectText(locator: Locator, pattern: RegExp): Promise<string> {
  const end = performance.now() + 15_000;
  let text = "";
  while (performance.now() < end) {
    text = (await locator.textContent({ timeout: 15_000 })) ?? "";
    if (pattern.test(text)) return text;
    await Bun.sleep(50);
  }
  throw new Error(`expected text matching ${pattern}, got "${text}"`);
}

async function storedRule(): Promise<unknown> {
  const entry = await (await new Kvm(conn.nc).open("micro_routes")).get(routeRulesKey("micro", "greeter"));
  return entry === null || entry.operation !== "PUT" ? null : entry.json();
}

describe("the dashboard's operator sections in a browser", () => {
  it("shows a call count that grows without a reload", async () => {
    // A mark on this document: still there later means the page was never reloaded.
    await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));
    const client = createClient(Greeter, conn.transport);
    await client.sayHello({ name: "first" });
    const requests = page.locator(`#nodes-table tr[data-node="${fixture.greeter.nodeId}"][data-endpoint="Greeter.SayHello"] td.requests`);
    await expectText(requests, /^1$/);
    for (const name of ["a", "b", "c"]) await client.sayHello({ name });
    await expectText(requests, /^4$/);
    expect(await page.evaluate(() => (window as unknown as { mark?: number }).mark)).toBe(42);
    expect(await page.locator(`#nodes-table tr[data-node="greeter-ghost"] td.health`).textContent()).toBe("no answer");
    await expectText(page.locator("#nodes-updated"), /^updated \d{4}-\d\d-\d\dT/);
  });

  it("changes weights only after the confirm is accepted, and they reach micro_routes", async () => {
    const form = page.locator('form.weights[data-service="greeter"]');
    await form.locator('input[name="1.0.0"]').fill("100");
    let question = "";
    page.once("dialog", (dialog) => {
      question = dialog.message();
      void dialog.dismiss();
    });
    await form.locator("button.save").click();
    await eventually(() => question, (q) => q !== "", { what: "the confirm" });
    expect(question).toBe("Send greeter's calls by these weights: 1.0.0=100?");
    // Dismissed: nothing was sent (the accepted change below is the only one the bucket sees).
    page.once("dialog", (dialog) => void dialog.accept());
    await form.locator("button.save").click();
    await eventually(storedRule, (r) => r !== null, { what: "the weights in micro_routes" });
    expect(await storedRule()).toEqual({ weights: { "1.0.0": 100 } });
    const kv = await new Kvm(conn.nc).open("micro_routes");
    const history = await kv.history({ key: routeRulesKey("micro", "greeter") });
    let puts = 0;
    for await (const e of history) if (e.operation === "PUT") puts++;
    expect(puts).toBe(1);
    await expectText(page.locator('form.weights[data-service="greeter"] h4'), /^greeter$/);
  });

  it("lists a dead letter with its time, inspects it and redrives it after the confirm", async () => {
    await fixture.publishInvoices(7);
    const count = page.locator('#dlq-counts tr[data-service="billing"]');
    await expectText(count, /billing\s*1/);
    await count.locator("button").click();
    const row = page.locator("#dlq-table tbody tr").first();
    await expectText(row, /invoice\.created/);
    expect(await row.locator("td.time").textContent()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(await row.locator("td").nth(4).textContent()).toBe("tax service down");
    await row.locator("button").click();
    const detail = await expectText(page.locator("#dlq-detail"), /"invoice": 7/);
    expect(JSON.parse(detail)).toMatchObject({ user: "u7", deliveries: 2, data: { invoice: 7 } });

    fixture.heal();
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#dlq-redrive").click();
    await expectText(page.locator("#dlq-state"), /^redrove 1 to billing$/);
    await eventually(() => fixture.handled.includes("u7"), (done) => done, { what: "billing handles the redriven event" });
    expect(await page.locator("#dlq-table tbody tr").count()).toBe(0);
  });

  it("publishes from the form, and every live event row shows its time", async () => {
    await page.locator("#events-filter").fill("dash.>");
    await page.locator('#events-form button[type="submit"]').click();
    await expectText(page.locator("#events-state"), /watching dash\.>/);
    await page.locator("#publish-topic").fill("dash.signup");
    await page.locator("#publish-user").fill("ada");
    await page.locator("#publish-data").fill('{"plan":"<b>pro</b>"}');
    await page.locator('#publish-form button[type="submit"]').click();
    await expectText(page.locator("#publish-state"), /^published dash\.signup \(sequence \d+\)/);
    const item = page.locator("#events-list li").first();
    await expectText(item, /dash\.signup\s+\{"plan":"<b>pro<\/b>"\}\s+user=ada/);
    expect(await item.locator("time").textContent()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Shown as text: the markup in the event did not become an element.
    expect(await item.locator("b").count()).toBe(0);
    // The topics table follows on its own refresh.
    await expectText(page.locator('#topics-table tr[data-topic="dash.signup"]'), /dash\.signup\s*1/);
  });
});
