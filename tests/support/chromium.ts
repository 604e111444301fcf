import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

/** Debian's chromium, as scripts/chromium.mjs installs it. */
const chromiumPath = "/usr/bin/chromium";

/** A headless Chromium with its own throwaway profile; `close()` deletes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Starts Debian's chromium (installed by `npm test`'s set-up) through playwright-core, which
 * never downloads a browser of its own. Quiet flags keep it off the network.
 */
export async function startTestBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "jetmicro-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
