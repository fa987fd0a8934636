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
import { isolate, type RenderOptions, renderSvg } from "../src/render/mod.ts";
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
  { query = "", size = { width: 1200, height: 600 }, init = "" } = {},
): Promise<{ page: Page; url: string }> {
  const b = await setup();
  const file = `${dir}/graph${counter++}.svg`;
  await Deno.writeTextFile(file, renderSvg(lines, options).svg);
  const url = `file://${file}`;
  const page = await b.open(url + query, size, init || undefined);
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

/**
 * The "Matched" line once the search is done: a pattern that could backtrack runs in a worker,
 * and the line says "Searching..." until it answers.
 */
async function matched(page: Page): Promise<string> {
  await page.waitForFunction(() =>
    document.getElementById("matched")!.textContent !== "Searching..."
  );
  return text(page, "matched");
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
  assert.equal(await matched(page), "Matched: 60.0%");
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
  assert.equal(await matched(page), "Matched: 0.0%");
  await page.click("#unzoom");
  assert.equal(await matched(page), "Matched: 60.0%");
  await clickFrame(page, "parse");
  assert.equal(await matched(page), "Matched: 100%");
  assert.match(await query(page), /^\?x=\d+&y=2&s=parse%7Clex$/);

  await page.click("#search"); // "Reset Search"
  assert.equal(await matched(page), "");
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
  assert.equal(await matched(page), "Matched: 18.4%"); // draw_text 23 of 125
  await page.keyboard.press("Escape");
  assert.equal(await input.isVisible(), false);
  assert.equal(await matched(page), "");

  await page.keyboard.press("F3");
  assert.ok(await input.isVisible());
  await page.keyboard.type("^(fill|draw)");
  await page.keyboard.press("Enter");
  assert.equal(await matched(page), "Matched: 28.0%");
  return page;
});

browserTest("case toggle: ic button and Ctrl-I", async () => {
  const { page } = await openGraph(await foldedFixture("simple.folded"), {}, {
    query: "?s=LEX",
  });
  assert.equal(await matched(page), "Matched: 0.0%");
  await page.click("#ic");
  assert.equal(await matched(page), "Matched: 40.0%");
  assert.match(await query(page), /[?&]i=1/);
  await page.keyboard.press("Control+i");
  assert.equal(await matched(page), "Matched: 0.0%");
  return page;
});

browserTest(
  "?s= on load highlights; ?x=&y= restores a zoom; a bad regex searches as text",
  async () => {
    const lines = await foldedFixture("simple.folded");
    const { page } = await openGraph(lines, {}, { query: "?s=^draw" });
    assert.equal(await matched(page), "Matched: 18.4%");
    assert.equal((await frameBox(page, "draw_text"))?.cls, "m");
    await clickFrame(page, "paint");
    const q = await query(page);
    await page.close();

    const again = await openGraph(lines, {}, { query: q });
    assert.ok(Math.abs((await frameBox(again.page, "paint"))!.width - 1180) < 1);
    assert.equal(await matched(again.page), "Matched: 65.7%"); // 23 of paint's 35
    await again.page.close();

    const bad = await openGraph([{ stack: "a;f(x", count: 1 }, { stack: "a;g", count: 3 }], {}, {
      query: "?s=" + encodeURIComponent("f(x"),
    });
    assert.equal(await matched(bad.page), "Matched as text: 25.0%");
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
  assert.match(await matched(page), /^Matched: /);
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

/** Milliseconds the page takes to answer a trivial question: large when its thread is busy. */
async function answerTime(page: Page): Promise<number> {
  const t0 = performance.now();
  await page.evaluate(() => 1);
  return performance.now() - t0;
}

const LONG_A = "a".repeat(60) + "!";
const LONG_X = "x".repeat(60);

browserTest(
  "a catastrophic regex in ?s= never freezes the tab: it gives up after 2 s",
  async () => {
    // Each of these takes V8 longer than anyone waits on these names (2^60 ways to try).
    const lines = [
      { stack: `main;${LONG_A}`, count: 5 },
      { stack: `main;${LONG_X}`, count: 3 },
      { stack: "main;other", count: 2 },
    ];
    const t0 = performance.now();
    const { page } = await openGraph(lines, { minWidth: 0 }, {
      query: "?s=" + encodeURIComponent("(a+)+$"),
    });
    assert.ok(performance.now() - t0 < 5000, "the page loaded");
    assert.ok((await answerTime(page)) < 1000, "the page answers while the search runs");
    assert.equal(await text(page, "matched"), "Searching...");
    // It can be used meanwhile: zoom into a frame.
    await clickFrame(page, "other");
    assert.ok(Math.abs((await frameBox(page, "other"))!.width - 1180) < 1);
    await page.waitForFunction(
      () => document.getElementById("matched")!.textContent!.startsWith("Search gave up"),
      undefined,
      { timeout: 10_000 },
    );
    const gaveUp = performance.now() - t0;
    assert.ok(gaveUp > 1900 && gaveUp < 8000, `gave up after ${gaveUp} ms`);
    assert.equal(await text(page, "matched"), "Search gave up: over 2 s");
    assert.equal((await frameBox(page, LONG_A))?.cls, "", "nothing highlighted");
    assert.match(await query(page), /s=\(a%2B\)%2B%24/, "the search stays in the URL");

    // Typed into the box: (x|x)*y gives up too, and the next search works again.
    await page.keyboard.press("Escape");
    await page.keyboard.press("Control+f");
    await page.keyboard.type("(x|x)*y");
    await page.keyboard.press("Enter");
    assert.ok((await answerTime(page)) < 1000, "the page answers while the search runs");
    await page.waitForFunction(
      () => document.getElementById("matched")!.textContent!.startsWith("Search gave up"),
      undefined,
      { timeout: 10_000 },
    );
    await page.keyboard.press("Control+f");
    await page.keyboard.press("Control+a");
    await page.keyboard.type("^(x+|oth)");
    await page.keyboard.press("Enter");
    assert.equal(await matched(page), "Matched: 50.0%"); // x... (3) and other (2) of 10
    assert.equal((await frameBox(page, LONG_X))?.cls, "m");
    assert.equal((await frameBox(page, LONG_A))?.cls, "");
    return page;
  },
);

browserTest("a new search stops a slow one at once; the answer is the new one's", async () => {
  const lines = [{ stack: `main;${LONG_A}`, count: 5 }, { stack: "main;other", count: 5 }];
  const { page } = await openGraph(lines, { minWidth: 0 }, {
    query: "?s=" + encodeURIComponent("(a|a)*b"),
  });
  assert.equal(await text(page, "matched"), "Searching...");
  await page.keyboard.press("Control+f");
  await page.keyboard.type("^o(t|x)+");
  await page.keyboard.press("Enter");
  assert.equal(await matched(page), "Matched: 50.0%");
  // The slow search's timer must not overwrite the answer later.
  await page.waitForTimeout(2500);
  assert.equal(await text(page, "matched"), "Matched: 50.0%");
  return page;
});

browserTest("without Web Workers a repeating pattern is searched as text, never run", async () => {
  const lines = [
    { stack: `main;${LONG_A}`, count: 5 },
    { stack: "main;(a+)+$ literally", count: 1 },
    { stack: "main;parse", count: 4 },
  ];
  const noWorkers = "delete globalThis.Worker;";
  const { page } = await openGraph(lines, { minWidth: 0 }, {
    query: "?s=" + encodeURIComponent("(a+)+$"),
    init: noWorkers,
  });
  assert.equal(await matched(page), "Matched as text: 10.0%");
  assert.equal((await frameBox(page, "(a+)+$ literally"))?.cls, "m");
  // A pattern that cannot backtrack much still runs as a regular expression.
  await page.keyboard.press("Control+f");
  await page.keyboard.type("^pa|^\\(");
  await page.keyboard.press("Enter");
  assert.equal(await matched(page), "Matched: 50.0%");
  await page.close();

  // A worker that fails to start (a viewer's policy) is found out when it reports the error.
  const failing = `globalThis.Worker = class {
    constructor() { setTimeout(() => this.onerror && this.onerror(new Event("error")), 20); }
    postMessage() {}
    terminate() {}
  };`;
  const again = await openGraph(lines, { minWidth: 0 }, {
    query: "?s=" + encodeURIComponent("(a+)+$"),
    init: failing,
  });
  assert.equal(await matched(again.page), "Matched as text: 10.0%");
  return again.page;
});

/** Left edges of the characters of element `selector`'s text from `from` to its end. */
function charXs(page: Page, selector: string, from: string): Promise<number[]> {
  return page.evaluate(([sel, f]) => {
    const el = document.querySelector(sel) as SVGTextContentElement;
    const t = el.textContent ?? "";
    const xs: number[] = [];
    for (let k = t.indexOf(f); k >= 0 && k < t.length; k++) {
      xs.push(el.getStartPositionOfChar(k).x);
    }
    return xs;
  }, [selector, from] as const);
}

function increasing(xs: number[]): boolean {
  return xs.length > 1 && xs.every((x, k) => k === 0 || x > xs[k - 1]);
}

const RLO = "\u202e";
const HEBREW = "\u05e9\u05dc\u05d5\u05dd";

browserTest("bidi: a right-to-left override in a name cannot reorder flame's text", async () => {
  const evil = `${RLO}evil_override_name`;
  const lines = [
    { stack: `main;${evil}`, count: 5 },
    { stack: `main;${HEBREW} 42`, count: 3 },
    { stack: `main;${RLO}${"long".repeat(30)}`, count: 2 },
  ];
  const { page } = await openGraph(lines, {
    minWidth: 0,
    title: `Sizes: ${isolate(`${RLO}dir`)}, other`,
  });
  const box = (await frameBox(page, evil))!;
  await page.mouse.move(box.x + 3, box.y + 3);
  assert.ok(increasing(await charXs(page, "#details", " (5 samples")), "details in order");
  assert.ok(increasing(await charXs(page, "#tip tspan.n", "5 samples")), "tooltip in order");
  assert.equal(
    await text(page, "details"),
    `Function: \u2068${evil}\u2069 (5 samples, 50.00%)`,
  );
  const hebrew = (await frameBox(page, `${HEBREW} 42`))!;
  await page.mouse.move(hebrew.x + 3, hebrew.y + 3);
  assert.ok(increasing(await charXs(page, "#details", " (3 samples")), "after RTL letters");
  // The title: the text after the isolated directory keeps its place.
  assert.ok(increasing(await charXs(page, "#title", ", other")), "title in order");
  // A cut label keeps its ".." at the end, right of every letter of the name.
  const cutLabel = await page.evaluate(() => {
    const t = [...document.querySelectorAll("#labels text")].find((e) =>
      (e.textContent ?? "").endsWith("..") && (e.textContent ?? "").includes("long")
    ) as SVGTextContentElement | undefined;
    if (!t) return null;
    const s = t.textContent ?? "";
    const boxes = [...s].map((_, k) => t.getExtentOfChar(k));
    // The letters' right edges (the invisible controls sit anywhere).
    const rights = boxes.filter((_, k) => /[a-z]/.test(s[k])).map((b) => b.x + b.width);
    return { text: s, dots: boxes[s.length - 2].x, others: Math.max(...rights) };
  });
  assert.ok(cutLabel, "a cut label");
  assert.ok(cutLabel.text.startsWith("\u2068"), JSON.stringify(cutLabel.text));
  assert.ok(cutLabel.dots >= cutLabel.others - 0.01, JSON.stringify(cutLabel));
  return page;
});

browserTest("option values cannot break the stylesheet or the script", async () => {
  const hostile = `*/ } * { display:none } </style><script>alert(1)</script> /*`;
  const { page } = await openGraph(await foldedFixture("simple.folded"), {
    fontType: `"Font */ x", Times New Roman, monospace`,
    title: hostile,
    subtitle: hostile,
    countName: hostile,
    nameType: `${hostile}:`,
    notes: `--> ${hostile} <!--`,
    bgColors: "#102030",
  });
  assert.equal(await page.evaluate(() => document.querySelectorAll("script").length), 1);
  assert.equal(await page.evaluate(() => document.querySelectorAll("style").length), 1);
  assert.equal(await text(page, "title"), hostile);
  const style = await page.evaluate(() => {
    const title = getComputedStyle(document.getElementById("title")!);
    const frame = getComputedStyle(document.querySelector("#frames rect")!);
    return { size: title.fontSize, font: title.fontFamily, display: frame.display };
  });
  assert.deepEqual(style, {
    size: "17px",
    font: `"Font */ x", "Times New Roman", monospace`,
    display: "inline",
  });
  const box = (await frameBox(page, "lex"))!;
  await page.mouse.move(box.x + 3, box.y + 3);
  assert.equal(await text(page, "details"), `${hostile}: lex (50 ${hostile}, 40.00%)`);
  return page;
});

/** `depth` frames, one above the other. */
function tower(depth: number): FoldedLine[] {
  const names = Array.from({ length: depth }, (_, k) => `f${k}`);
  return [{ stack: names.join(";"), count: 10 }, { stack: "f0;side", count: 5 }];
}

/** True when the frame `name` is inside the window. */
function inWindow(page: Page, name: string): Promise<boolean> {
  return page.evaluate((n) => {
    const r = [...document.querySelectorAll("#frames rect")].find((e) => e.getAttribute("t") === n);
    const b = r!.getBoundingClientRect();
    return b.top >= 0 && b.bottom <= innerHeight;
  }, name);
}

browserTest("a tall graph opens where its frames are: the root of a flame graph", async () => {
  const size = { width: 1200, height: 600 };
  const flame = await openGraph(tower(150), { minWidth: 0 }, { size });
  const scroll = await flame.page.evaluate(() => ({
    y: scrollY,
    max: document.documentElement.getBoundingClientRect().height - innerHeight,
  }));
  assert.ok(scroll.y > 1500 && Math.abs(scroll.y - scroll.max) < 2, JSON.stringify(scroll));
  assert.ok(await inWindow(flame.page, "f0"), "the root is in the window");
  assert.ok(await visible(flame.page, "details"));
  await flame.page.close();

  const icicle = await openGraph(tower(150), { minWidth: 0, inverted: true }, { size });
  assert.equal(await icicle.page.evaluate(() => scrollY), 0);
  assert.ok(await inWindow(icicle.page, "f0"), "the root is in the window");
  await icicle.page.close();

  // A zoom restored from the URL opens at the zoomed frame.
  const zoomed = await openGraph(tower(150), { minWidth: 0 }, { size, query: "?x=0&y=100" });
  assert.ok(await inWindow(zoomed.page, "f100"), "the zoomed frame is in the window");
  assert.ok(await inWindow(zoomed.page, "f110"), "and its children above it");
  await zoomed.page.close();

  // A graph that fits the window does not move.
  const small = await openGraph(tower(5), { minWidth: 0 }, { size });
  assert.equal(await small.page.evaluate(() => scrollY), 0);
  return small.page;
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
