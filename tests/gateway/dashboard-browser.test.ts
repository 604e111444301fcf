import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Page } from "playwright-core";
import type { NatsServerProcess } from "../../runtime/nats/mod.ts";
import { startTestBrowser, type TestBrowser } from "../support/chromium.ts";
import { startTestNats } from "../support/nats.ts";
import { freePort, repoPath } from "../support/service-dirs.ts";
import { type Child, runMicro } from "../support/subprocess.ts";

// What a user does: `npm start` (services/ with the gateway), then opens the dashboard.
let nats: NatsServerProcess;
let micro: Child;
let browser: TestBrowser;
let page: Page;
let base: string;

beforeAll(async () => {
  nats = await startTestNats();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  micro = runMicro(["run", repoPath("services")], { NATS_URL: nats.url, MICRO_GATEWAY_PORT: String(port) });
  [browser] = await Promise.all([startTestBrowser(), micro.waitFor(/gateway http:\/\//, 30_000)]);
  page = await browser.context.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  micro?.process.kill("SIGTERM");
  await micro?.exited;
  await nats?.stop();
});

describe("the dashboard in a browser", () => {
  it("lists greeter with its node and endpoints", async () => {
    await page.goto(`${base}/`);
    const greeter = page.locator('section.service[data-service="greeter"]');
    await greeter.waitFor();
    expect(await greeter.locator("h3").textContent()).toContain("greeter");
    expect(await greeter.locator("details.version").getAttribute("data-version")).toBe("1.0.0");
    expect(await greeter.locator("li.node code").first().textContent()).toMatch(/^greeter-/);
    expect(await greeter.locator("details.endpoint summary code").allTextContents()).toEqual(["Greeter.SayHello", "Greeter.SayGoodbye"]);
  });

  it("shows greeter's node as healthy in the live nodes table (the runner's gateway has the operator source)", async () => {
    const row = page.locator('#nodes-table tr[data-service="greeter"][data-endpoint="Greeter.SayHello"]').first();
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator("td.health").textContent()).toBe("ok");
    expect(await row.locator("td.requests").textContent()).toMatch(/^\d+$/);
    await expectText(page.locator('form.weights[data-service="greeter"] h4'), /^greeter \(no weights/);
  });

  it("calls SayHello through the form and shows the reply", async () => {
    const form = page.locator('form.call[data-service="greeter"][data-endpoint="Greeter.SayHello"]');
    await form.evaluate((f) => ((f.closest("details") as HTMLDetailsElement).open = true));
    await form.locator('input[name="name"]').fill("Ada <b>Lovelace</b>");
    await form.locator('button[type="submit"]').click();
    const body = form.locator(".reply .body");
    await expectText(body, /Hello Ada/);
    expect(JSON.parse((await body.textContent())!)).toEqual({ message: "Hello Ada <b>Lovelace</b>" });
    // Shown as text: the markup in the reply did not become an element.
    expect(await form.locator(".reply b").count()).toBe(0);
    expect(await form.locator(".reply .status").textContent()).toStartWith("200");
  });

  it("shows an error reply with its code", async () => {
    const form = page.locator('form.call[data-service="greeter"][data-endpoint="Greeter.SayGoodbye"]');
    await form.evaluate((f) => ((f.closest("details") as HTMLDetailsElement).open = true));
    await form.locator('input[name="name"]').fill("Ada");
    await form.locator('button[type="submit"]').click();
    await expectText(form.locator(".reply .status"), /501.*unimplemented/);
    expect(await form.locator(".reply").getAttribute("class")).toContain("error");
  });

  it("shows live events and a user's audit history", async () => {
    await page.locator("#events-filter").fill("dash.>");
    await page.locator('#events-form button[type="submit"]').click();
    await expectText(page.locator("#events-state"), /watching dash\.>/);
    const published = await fetch(`${base}/events/dash.signup`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-micro-user": "ada" },
      body: JSON.stringify({ plan: "pro" }),
    });
    expect(published.status).toBe(201);
    await expectText(page.locator("#events-list li").first(), /dash\.signup\s+\{"plan":"pro"\}\s+user=ada/);

    await page.locator("#history-user").fill("ada");
    // The audit service stores the event asynchronously: ask until it is there.
    const row = page.locator("#history-table tbody tr").first();
    const end = performance.now() + 15_000;
    for (;;) {
      await page.locator('#history-form button[type="submit"]').click();
      await page.locator("#history-table").waitFor();
      if (/dash\.signup/.test((await row.textContent()) ?? "")) break;
      if (performance.now() > end) throw new Error(`no history row; got ${await row.textContent()}`);
      await Bun.sleep(200);
    }
    expect(await row.locator("td").nth(3).textContent()).toBe('{"plan":"pro"}');
  });
});

/** Waits (up to 10 s) for the element's text to match. */
async function expectText(locator: ReturnType<Page["locator"]>, pattern: RegExp): Promise<void> {
  const end = performance.now() + 10_000;
  let text = "";
  while (performance.now() < end) {
    text = (await locator.textContent({ timeout: 10_000 })) ?? "";
    if (pattern.test(text)) return;
    await Bun.sleep(50);
  }
  throw new Error(`expected text matching ${pattern}, got "${text}"`);
}
