/// <reference lib="dom" />
/**
 * The SVG as a person uses it, in headless Chromium: zoom, search, tooltips, URL state,
 * resize, dark theme, hostile names. One browser for the whole file; any console error, page
 * error or dialog fails the test that caused it.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { readFolded } from "../src/folded/parse.ts";
import type { FoldedLine } from "../src/folded/parse.ts";
import { openInput } from "../src/io/input.ts";
import { type RenderOptions, renderSvg } from "../src/render/mod.ts";
import { type Browser, launchBrowser } from "./browser.ts";
import { repoPath } from "./helpers.ts";

let browser: Browser | undefined;
let dir = "";

async function setup(): Promise<Browser> {
  if (!browser) {
    browser = await launchBrowser();
    dir = await Deno.makeTempDir({ prefix: "flame-browser-" });
  }
  return browser;
}

async function foldedFixture(name: string): Promise<FoldedLine[]> {
  const lines: FoldedLine[] = [];
  await readFolded(await openInput(repoPath(`fixtures/folded/${name}`)), (l) => lines.push(l));
  return lines;
}

let counter = 0;
/** Renders `lines` to a file and opens it; returns the page and the file URL. */
async function openGraph(
  lines: FoldedLine[],
  options: Partial<RenderOptions> = {},
  { query = "", size = { width: 1200, height: 600 } } = {},
): Promise<{ page: Page; url: string }> {
  const b = await setup();
  const file = `${dir}/graph${counter++}.svg`;
  await Deno.writeTextFile(file, renderSvg(lines, options).svg);
  const url = `file://${file}`;
  const page = await b.open(url + query, size);
  return { page, url };
}

/** Box of the frame whose name is `name`, in page pixels. */
function frameBox(page: Page, name: string) {
  return page.evaluate((n) => {
    const r = [...document.querySelectorAll("#frames rect")].find((e) => e.getAttribute("t") === n);
    if (!r) return null;
    const b = r.getBoundingClientRect();
    // State classes only: p (dimmed ancestor), m (search match), h (hidden-frames bar).
    const cls = [...r.classList].filter((c) => c !== "s").join(" ");
    return { x: b.x, y: b.y, width: b.width, height: b.height, cls };
  }, name);
}

/** Clicks the visible part of a frame (a zoomed-out ancestor extends past the edges). */
async function clickFrame(page: Page, name: string): Promise<void> {
  const box = await frameBox(page, name);
  assert.ok(box, `no frame ${name}`);
  const left = Math.max(box.x, 10);
  const right = Math.min(box.x + box.width, (await framesWidth(page)) + 10);
  assert.ok(right - left >= 1, `${name} is not visible`);
  await page.mouse.click(left + Math.min((right - left) / 2, 20), box.y + box.height / 2);
}

function text(page: Page, id: string): Promise<string> {
  return page.evaluate((i) => document.getElementById(i)!.textContent ?? "", id);
}

function visible(page: Page, id: string): Promise<boolean> {
  return page.evaluate((i) => {
    const e = document.getElementById(i)!;
    return getComputedStyle(e).display !== "none";
  }, id);
}

function labels(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll("#labels text")].map((t) => t.textContent ?? "")
  );
}

function framesWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.getElementById("frames")!.getBoundingClientRect().width);
}

function query(page: Page): Promise<string> {
  return page.evaluate(() => location.search);
}

/** Wraps a browser test: fails on any problem the page reported, closes its page. */
function browserTest(name: string, fn: () => Promise<Page | void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false }, async () => {
    const b = await setup();
    const before = b.problems.length;
    const page = await fn();
    if (page) await page.close();
    assert.deepEqual(b.problems.slice(before), [], "console errors, page errors or dialogs");
  });
}

browserTest("loads cleanly: frames, labels fitted to the window, title", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  assert.equal(await text(page, "title"), "Flame Graph");
  const all = await frameBox(page, "all");
  assert.ok(all);
  assert.ok(Math.abs(all.width - 1180) < 1, `root is ${all.width} px wide`);
  const ls = await labels(page);
  assert.ok(ls.includes("main") && ls.includes("shape_glyphs"), ls.join(","));
  assert.equal(await visible(page, "unzoom"), false);
  return page;
});

browserTest("click zooms a frame to full width; Reset Zoom and Escape go back", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  await clickFrame(page, "paint");
  const paint = await frameBox(page, "paint");
  assert.ok(paint && Math.abs(paint.width - 1180) < 1, `paint is ${paint?.width} px`);
  assert.ok(Math.abs(paint.x - 10) < 1);
  const render = await frameBox(page, "render");
  assert.equal(render?.cls, "p", "ancestors are dimmed");
  const parse = await frameBox(page, "parse");
  assert.ok(parse && (parse.x + parse.width <= 10.5 || parse.x >= 1189.5), "others move out");
  assert.equal(await visible(page, "unzoom"), true);
  assert.match(await query(page), /^\?x=\d+&y=3$/);
  assert.ok((await labels(page)).includes("draw_text"));

  await page.click("#unzoom");
  assert.ok(Math.abs((await frameBox(page, "paint"))!.width - 1180 * 35 / 125) < 1);
  assert.equal(await visible(page, "unzoom"), false);
  assert.equal(await query(page), "");
  assert.equal((await frameBox(page, "render"))?.cls, "");

  await clickFrame(page, "lex");
  assert.ok(Math.abs((await frameBox(page, "lex"))!.width - 1180) < 1);
  await page.keyboard.press("Escape");
  assert.ok(Math.abs((await frameBox(page, "lex"))!.width - 1180 * 50 / 125) < 1);
  assert.equal(await query(page), "");
  return page;
});

browserTest("clicking a dimmed ancestor zooms out to it; clicking the root resets", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  await clickFrame(page, "shape_glyphs");
  await clickFrame(page, "render");
  assert.ok(Math.abs((await frameBox(page, "render"))!.width - 1180) < 1);
  assert.equal((await frameBox(page, "shape_glyphs"))?.cls, "");
  await clickFrame(page, "all");
  assert.equal(await visible(page, "unzoom"), false);
  assert.equal(await query(page), "");
  return page;
});

browserTest("search with the button: highlights, Matched % without double counting", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  await page.click("#search");
  const input = page.locator("input");
  assert.ok(await input.isVisible());
  await input.fill("parse|lex");
  await input.press("Enter");
  assert.equal(await input.isVisible(), false);
  // parse (75 of 125) contains lex: counted once.
  assert.equal(await text(page, "matched"), "Matched: 60.0%");
  assert.equal((await frameBox(page, "lex"))?.cls, "m");
  assert.equal((await frameBox(page, "parse"))?.cls, "m");
  assert.equal((await frameBox(page, "main"))?.cls, "");
  assert.equal(await text(page, "search"), "Reset Search");
  assert.equal(await query(page), "?s=parse%7Clex");
  const fill = await page.evaluate(() =>
    getComputedStyle(document.querySelector("#frames rect.m")!).fill
  );
  assert.equal(fill, "rgb(230, 0, 230)");

  // Zoomed in, the share is of the zoomed frame.
  await clickFrame(page, "render");
  assert.equal(await text(page, "matched"), "Matched: 0.0%");
  await page.click("#unzoom");
  assert.equal(await text(page, "matched"), "Matched: 60.0%");
  await clickFrame(page, "parse");
  assert.equal(await text(page, "matched"), "Matched: 100%");
  assert.match(await query(page), /^\?x=\d+&y=2&s=parse%7Clex$/);

  await page.click("#search"); // "Reset Search"
  assert.equal(await text(page, "matched"), "");
  assert.equal((await frameBox(page, "lex"))?.cls, "");
  assert.equal(await text(page, "search"), "Search");
  return page;
});

browserTest("Ctrl-F and F3 open the search box; Escape in it cancels", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  await page.mouse.click(600, 300);
  await page.keyboard.press("Control+f");
  const input = page.locator("input");
  assert.ok(await input.isVisible());
  await page.keyboard.type("draw_");
  await page.waitForFunction(() => document.getElementById("matched")!.textContent !== "");
  assert.equal(await text(page, "matched"), "Matched: 18.4%"); // draw_text 23 of 125
  await page.keyboard.press("Escape");
  assert.equal(await input.isVisible(), false);
  assert.equal(await text(page, "matched"), "");

  await page.keyboard.press("F3");
  assert.ok(await input.isVisible());
  await page.keyboard.type("^(fill|draw)");
  await page.keyboard.press("Enter");
  assert.equal(await text(page, "matched"), "Matched: 28.0%");
  return page;
});

browserTest("case toggle: ic button and Ctrl-I", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"), {}, {
    query: "?s=LEX",
  });
  assert.equal(await text(page, "matched"), "Matched: 0.0%");
  await page.click("#ic");
  assert.equal(await text(page, "matched"), "Matched: 40.0%");
  assert.match(await query(page), /[?&]i=1/);
  await page.keyboard.press("Control+i");
  assert.equal(await text(page, "matched"), "Matched: 0.0%");
  return page;
});

browserTest(
  "?s= on load highlights; ?x=&y= restores a zoom; a bad regex searches literally",
  async () => {
    const lines = await foldedFixture("simple.folded");
    const { page } = await openGraph(lines, {}, { query: "?s=^draw" });
    assert.equal(await text(page, "matched"), "Matched: 18.4%");
    assert.equal((await frameBox(page, "draw_text"))?.cls, "m");
    await clickFrame(page, "paint");
    const q = await query(page);
    await page.close();

    const again = await openGraph(lines, {}, { query: q });
    assert.ok(Math.abs((await frameBox(again.page, "paint"))!.width - 1180) < 1);
    assert.equal(await text(again.page, "matched"), "Matched: 65.7%"); // 23 of paint's 35
    await again.page.close();

    const bad = await openGraph([{ stack: "a;f(x", count: 1 }, { stack: "a;g", count: 3 }], {}, {
      query: "?s=" + encodeURIComponent("f(x"),
    });
    assert.equal(await text(bad.page, "matched"), "Matched: 25.0%");
    return bad.page;
  },
);

browserTest("tooltips follow the pointer: name, count and percentage", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  const tip = () =>
    page.evaluate(() => {
      const t = document.getElementById("tip");
      if (!t || getComputedStyle(t).display === "none") return null;
      const b = t.getBoundingClientRect();
      const lines = [...t.querySelectorAll("tspan")].map((l) => l.textContent).join(" | ");
      return { text: lines, x: b.x, y: b.y, right: b.right };
    });
  assert.equal(await tip(), null);
  const box = (await frameBox(page, "lex"))!;
  await page.mouse.move(box.x + 5, box.y + 5);
  assert.equal(await text(page, "details"), "Function: lex (50 samples, 40.00%)");
  const shown = (await tip())!;
  assert.equal(shown.text, "lex | 50 samples, 40.00%");
  assert.ok(shown.x > box.x && shown.y > box.y, JSON.stringify(shown));
  await page.mouse.move(box.x + 25, box.y + 5);
  assert.ok(Math.abs((await tip())!.x - shown.x - 20) < 1, "moves with the pointer");
  // Near the right edge it flips to the left of the pointer, inside the window.
  const fill = (await frameBox(page, "fill_rect"))!;
  await page.mouse.move(fill.x + fill.width - 2, fill.y + 5);
  assert.ok((await tip())!.right <= 1200, "stays in the window");
  await page.mouse.move(600, 5);
  assert.equal(await text(page, "details"), "");
  assert.equal(await tip(), null);
  const all = (await frameBox(page, "all"))!;
  await page.mouse.move(all.x + 5, all.y + 5);
  assert.equal(await text(page, "details"), "Function: all (125 samples, 100%)");
  return page;
});

browserTest("long names wrap in the tooltip and are cut in the details line", async () => {
  const long = "std::map<std::string, std::vector<int>>::operator[](" + "x".repeat(150) +
    ")::lambda<with, many, template, arguments>";
  const { page } = await openGraph([{ stack: `main;${long}`, count: 10 }], { minWidth: 0 });
  const box = (await frameBox(page, long))!;
  await page.mouse.move(box.x + 100, box.y + 5);
  const tip = await page.evaluate(() => {
    const t = document.getElementById("tip")!;
    return {
      lines: [...t.querySelectorAll("tspan")].map((l) => l.textContent ?? ""),
      right: t.getBoundingClientRect().right,
    };
  });
  assert.ok(tip.lines.length >= 3, JSON.stringify(tip.lines));
  assert.equal(tip.lines.slice(0, -1).join(""), long);
  assert.equal(tip.lines.at(-1), "10 samples, 100%");
  assert.ok(tip.right <= 1200);
  const details = await text(page, "details");
  assert.ok(details.endsWith("..") && details.length < long.length, details);
  return page;
});

browserTest("differential, byte and time tooltips", async () => {
  const diff = await openGraph(await foldedFixture("diff.folded"));
  const layout = (await frameBox(diff.page, "layout"))!;
  await diff.page.mouse.move(layout.x + 3, layout.y + 3);
  assert.equal(await text(diff.page, "details"), "Function: layout (30 samples, 28.85%; +19.23%)");
  await diff.page.close();

  const bytes = await openGraph([
    { stack: "home;big.iso", count: 1_572_864 },
    { stack: "home;note.txt", count: 700 },
  ], { countName: "bytes", minWidth: 0 });
  const iso = (await frameBox(bytes.page, "big.iso"))!;
  await bytes.page.mouse.move(iso.x + 3, iso.y + 3);
  assert.equal(
    await text(bytes.page, "details"),
    "Function: big.iso (1.50 MiB, 1,572,864 bytes, 99.96%)",
  );
  await bytes.page.close();

  // cpu-clock periods are nanoseconds: 1,234 samples at 999 Hz are 1.24 s of CPU time.
  const time = await openGraph([
    { stack: "main;compute", count: 1234 * 1_001_001 },
    { stack: "main;idle", count: 3 * 1_001_001 },
  ], { countName: "ns", minWidth: 0 });
  const compute = (await frameBox(time.page, "compute"))!;
  await time.page.mouse.move(compute.x + 3, compute.y + 3);
  assert.equal(await text(time.page, "details"), "Function: compute (1.24 s, 99.76%)");
  const idle = (await frameBox(time.page, "idle"))!;
  await time.page.mouse.move(idle.x + 1, idle.y + 3);
  assert.equal(await text(time.page, "details"), "Function: idle (3.00 ms, 0.24%)");
  return time.page;
});

browserTest("resizing the window re-fits labels and the frames", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  assert.ok((await labels(page)).includes("shape_glyphs"));
  await page.setViewportSize({ width: 400, height: 600 });
  await page.waitForFunction(() =>
    Math.abs(document.getElementById("frames")!.getBoundingClientRect().width - 380) < 1
  );
  const narrow = await labels(page);
  assert.ok(!narrow.includes("shape_glyphs"), narrow.join(","));
  assert.ok(narrow.some((l) => l.endsWith("..")), narrow.join(","));
  assert.ok(Math.abs((await framesWidth(page)) - 380) < 1);
  // Labels fit their frames.
  const overflow = await page.evaluate(() => {
    const bad: string[] = [];
    for (const t of document.querySelectorAll("#labels text")) {
      const b = (t as SVGTextElement).getBBox();
      if (b.x + b.width > 392) bad.push(t.textContent ?? "");
    }
    return bad;
  });
  assert.deepEqual(overflow, []);
  await page.setViewportSize({ width: 1600, height: 600 });
  await page.waitForFunction(() =>
    Math.abs(document.getElementById("frames")!.getBoundingClientRect().width - 1580) < 1
  );
  assert.ok((await labels(page)).includes("shape_glyphs"));
  return page;
});

browserTest("dark theme follows prefers-color-scheme", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"));
  const bg = () => page.evaluate(() => getComputedStyle(document.getElementById("bgr")!).fill);
  const title = () => page.evaluate(() => getComputedStyle(document.getElementById("title")!).fill);
  assert.equal(await bg(), 'url("#bg")');
  await page.emulateMedia({ colorScheme: "dark" });
  assert.equal(await bg(), "rgb(28, 29, 33)");
  assert.equal(await title(), "rgb(216, 216, 216)");
  await page.screenshot({ path: "/tmp/flame-dark.png" });
  return page;
});

browserTest("hostile names show as text and never run", async () => {
  const { page } = await openGraph(await foldedFixture("xss.folded"), { minWidth: 0 });
  assert.equal(await page.evaluate(() => document.querySelectorAll("script").length), 1);
  const titles = await page.evaluate(() =>
    [...document.querySelectorAll("#frames rect")].map((t) => t.getAttribute("t"))
  );
  assert.ok(titles.includes("<script>alert(1)</script>"));
  assert.ok(titles.includes("]]><script>alert(2)</script>"));
  assert.ok(titles.includes("ctrlchars\x7f"));
  const ls = await labels(page);
  assert.ok(ls.some((l) => l.startsWith("<script>")), ls.join(","));
  // Search for markup and hover: still text.
  await page.goto(page.url() + "?s=" + encodeURIComponent("<script>"));
  assert.match(await text(page, "matched"), /^Matched: /);
  const box = (await frameBox(page, "<script>alert(1)</script>"))!;
  await page.mouse.move(box.x + 2, box.y + 2);
  assert.match(await text(page, "details"), /^Function: <script>alert\(1\)<\/script> \(/);
  return page;
});

browserTest("zoom is exact at any depth, even for totals past 2^24", async () => {
  // 10^12 (bytes of a big disk, or nanoseconds): positions are on a 2^24 grid in the file,
  // and exact in the script.
  const { page } = await openGraph([
    { stack: "root;huge", count: 999_998_999_977 },
    { stack: "root;tiny", count: 1_000_000 },
    { stack: "root;tiny;leaf", count: 1_000 },
    { stack: "root;tiny;leaf;deeper", count: 24 },
    { stack: "root;zzz", count: 23 },
  ], { minWidth: 0 });
  // "tiny" is 1/1000 px wide: zoom as a saved URL would (x is its exact left edge).
  await page.goto(page.url().replace(/\?.*$/, "") + "?x=999998999977&y=2");
  const tiny = (await frameBox(page, "tiny"))!;
  assert.ok(
    Math.abs(tiny.width - 1180) < 0.01 && Math.abs(tiny.x - 10) < 0.01,
    JSON.stringify(tiny),
  );
  await clickFrame(page, "leaf");
  const leaf = (await frameBox(page, "leaf"))!;
  assert.ok(Math.abs(leaf.width - 1180) < 0.01, JSON.stringify(leaf));
  const deeper = (await frameBox(page, "deeper"))!;
  // deeper is 24 of leaf's 1024, and starts after leaf's self time (1000).
  assert.ok(Math.abs(deeper.width - 1180 * 24 / 1024) < 0.01, JSON.stringify(deeper));
  assert.ok(Math.abs(deeper.x - (10 + 1180 * 1000 / 1024)) < 0.01, JSON.stringify(deeper));
  await page.mouse.move(deeper.x + 2, deeper.y + 2);
  assert.equal(await text(page, "details"), "Function: deeper (24 samples, 0.00%)");
  assert.ok((await labels(page)).includes("leaf"));
  await page.keyboard.press("Escape");
  assert.ok(Math.abs((await frameBox(page, "huge"))!.width - 1180 * 0.999999) < 0.01);
  return page;
});

browserTest("a fixed --width graph keeps its width", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"), { width: 800 });
  assert.ok(Math.abs((await frameBox(page, "all"))!.width - 780) < 1);
  await clickFrame(page, "parse");
  assert.ok(Math.abs((await frameBox(page, "parse"))!.width - 780) < 1);
  await page.screenshot({ path: "/tmp/flame-fixed.png" });
  return page;
});

browserTest("a real profile looks right (screenshot in /tmp/flame-light.png)", async () => {
  const { page } = await openGraph(await foldedFixture("cpp-templates.folded"), {
    title: "cpp-templates",
  });
  await page.screenshot({ path: "/tmp/flame-light.png" });
  return page;
});

Deno.test({
  name: "close the browser",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await browser?.close();
    if (dir) await Deno.remove(dir, { recursive: true });
  },
});
