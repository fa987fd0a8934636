/**
 * Headless Chromium for tests: one persistent context per test file, pages that fail the test
 * on any console error, page error or dialog.
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A running browser and what its pages reported. */
export interface Browser {
  context: BrowserContext;
  /** Console errors, page errors and dialogs seen so far, as text. */
  problems: string[];
  /**
   * Opens `url` in a fresh page of the given size, watching it for problems. `init` is a script
   * run before the document's own (to take an API away, say).
   */
  open(url: string, size?: { width: number; height: number }, init?: string): Promise<Page>;
  close(): Promise<void>;
}

/** Starts Chromium (/usr/bin/chromium) with a throwaway profile. */
export async function launchBrowser(): Promise<Browser> {
  const userDataDir = await Deno.makeTempDir({ prefix: "flame-chromium-" });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    args: ARGS,
    viewport: { width: 1200, height: 700 },
  });
  const problems: string[] = [];
  return {
    context,
    problems,
    async open(url, size, init) {
      const page = await context.newPage();
      if (size) await page.setViewportSize(size);
      if (init) await page.addInitScript(init);
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(`console error: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("dialog", (d) => {
        problems.push(`dialog: ${d.type()} ${d.message()}`);
        d.dismiss().catch(() => {});
      });
      await page.goto(url);
      return page;
    },
    async close() {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    },
  };
}
