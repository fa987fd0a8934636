import assert from "node:assert/strict";
import { FlameError } from "../src/errors.ts";
import type { FoldedLine } from "../src/folded/parse.ts";
import { commentSafe, cssFontFamilies, escapeXml, xmlSafe } from "../src/render/escape.ts";
import {
  isolate,
  renderFoldedStacks,
  renderOptionProblem,
  type RenderOptions,
  renderSvg,
  resolveOptions,
} from "../src/render/mod.ts";
import { UsageError } from "../src/errors.ts";
import { groupDigits } from "../src/format.ts";
import { displayName, fitLabel, fontFamily } from "../src/render/svg.ts";

const SIMPLE: FoldedLine[] = [
  { stack: "main;parse;lex", count: 30 },
  { stack: "main;parse;build_ast", count: 25 },
  { stack: "main;render;paint", count: 40 },
  { stack: "main", count: 5 },
];

interface Rect {
  x: number;
  y: number;
  width: number;
  fill?: string;
  cls?: string;
  n?: number;
  d?: number;
  name: string;
}

/** The frames of a document, parsed back from their markup. */
function frames(svg: string): Rect[] {
  const out: Rect[] = [];
  const re = /<rect ([^>]*?) t="([^"]*)"\/>/g;
  for (const m of svg.matchAll(re)) {
    const attr = (k: string) => new RegExp(`(?:^| )${k}="([^"]*)"`).exec(m[1])?.[1];
    out.push({
      x: Number(attr("x")),
      y: Number(attr("y")),
      width: Number(attr("width")),
      fill: attr("fill"),
      cls: attr("class"),
      n: attr("e") === undefined ? undefined : Number(attr("e")),
      d: attr("data-d") === undefined ? undefined : Number(attr("data-d")),
      name: unescape(m[2]),
    });
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(
    /&(lt|gt|quot|amp);/g,
    (_, e) => ({ lt: "<", gt: ">", quot: '"', amp: "&" })[e as "lt"],
  );
}

function config(svg: string): Record<string, unknown> {
  const m = /data-flame="([^"]*)"/.exec(svg);
  assert.ok(m);
  return JSON.parse(unescape(m[1]));
}

/**
 * A small XML well-formedness check: balanced tags, quoted attributes, no raw '<' or stray '&'
 * in text, nothing XML forbids, and exactly one CDATA section (the script).
 */
function assertWellFormed(svg: string): void {
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(svg, /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/);
  const cdata = svg.indexOf("<![CDATA[");
  const cdataEnd = svg.indexOf("]]>");
  assert.ok(cdata > 0 && cdataEnd > cdata);
  assert.equal(svg.indexOf("]]>", cdataEnd + 1), -1, "a second ]]> appears");
  const body = svg.slice(0, cdata) + svg.slice(cdataEnd + 3);
  const stack: string[] = [];
  const token =
    /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/g;
  for (const m of body.matchAll(token)) {
    if (m[6]) assert.fail(`raw '<' at ${m.index}: ${body.slice(m.index!, m.index! + 40)}`);
    if (m[5] !== undefined) {
      assert.doesNotMatch(m[5], /&(?!(?:lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);)/i);
      continue;
    }
    if (!m[2]) continue;
    for (const a of m[3].matchAll(/="([^"]*)"/g)) {
      assert.doesNotMatch(a[1], /&(?!(?:lt|gt|amp|quot|apos);)/);
    }
    if (m[1]) assert.equal(stack.pop(), m[2], `unbalanced </${m[2]}>`);
    else if (!m[4]) stack.push(m[2]);
  }
  assert.deepEqual(stack, []);
}

Deno.test("a small profile: one rect per frame with integer sample positions", () => {
  const { svg, framesDrawn, framesDropped, total, differential } = renderSvg(SIMPLE);
  assertWellFormed(svg);
  const fs = frames(svg);
  assert.equal(framesDrawn, 7);
  assert.equal(framesDropped, 0);
  assert.equal(total, 100);
  assert.equal(differential, false);
  assert.deepEqual(
    fs.map((f) => `${f.name} ${f.x}+${f.width}`),
    // Counts 30, 25, 40, 5 share 5: positions are in units of 5 samples.
    [
      "all 0+20",
      "main 0+20",
      "parse 1+11",
      "build_ast 1+5",
      "lex 6+6",
      "render 12+8",
      "paint 12+8",
    ],
  );
  assert.match(svg, /<svg id="frames" [^>]*viewBox="0 0 20 64" preserveAspectRatio="none"/);
  assert.equal(config(svg).g, 5);
  // Flame graph: deeper frames are higher up.
  const y = (name: string) => fs.find((f) => f.name === name)!.y;
  assert.ok(y("all") > y("main") && y("main") > y("parse") && y("parse") > y("lex"));
});

Deno.test("inverted: the root is at the top; the title says Icicle Graph", () => {
  const { svg } = renderSvg(SIMPLE, { inverted: true });
  const fs = frames(svg);
  const y = (name: string) => fs.find((f) => f.name === name)!.y;
  assert.ok(y("all") < y("main") && y("main") < y("parse"));
  assert.match(svg, /<text id="title"[^>]*>Icicle Graph</);
  assert.equal(config(svg).inv, 1);
});

Deno.test("titles: defaults by mode, custom title and subtitle escaped", () => {
  assert.equal(resolveOptions({}).title, "Flame Graph");
  assert.equal(resolveOptions({ flamechart: true }).title, "Flame Chart");
  const { svg } = renderSvg(SIMPLE, { title: "a < b & c", subtitle: '"sub"' });
  assert.match(svg, />a &lt; b &amp; c</);
  assert.match(svg, /<text id="subtitle"[^>]*>&quot;sub&quot;</);
  assertWellFormed(svg);
});

Deno.test("hostile names are escaped text, never markup", () => {
  const lines: FoldedLine[] = [
    { stack: "main;<script>alert(1)</script>", count: 10 },
    { stack: "main;]]><script>alert(2)</script>", count: 10 },
    { stack: 'main;"><svg onload=alert(3)>', count: 10 },
    { stack: "main;</title></rect><script>x</script>", count: 10 },
    { stack: "main;ctl\x00\x01\x1b\ufffe\ud800end", count: 10 },
  ];
  const { svg } = renderSvg(lines, { title: "<script>t</script>", notes: "a -- b <c>" });
  assertWellFormed(svg);
  assert.equal(svg.match(/<script>/g)?.length, 1, "only our own script element");
  assert.equal(svg.match(/<svg /g)?.length, 2, "the document and the frames only");
  const names = frames(svg).map((f) => f.name);
  assert.ok(names.includes("<script>alert(1)</script>"));
  assert.ok(names.includes("]]><script>alert(2)</script>"));
  assert.ok(names.includes("ctl\ufffdend"));
  assert.match(svg, /<!-- NOTES: a - - b <c> -->/);
});

Deno.test("escaping helpers", () => {
  assert.equal(escapeXml(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;'&lt;/a&gt;");
  assert.equal(escapeXml("plain"), "plain");
  assert.equal(xmlSafe("a\x00b\x08c\td\ne\rf\x1fg"), "abc\td\ne\rfg");
  assert.equal(xmlSafe("x\ud83d\ude00y\udc00z"), "x\ud83d\ude00y\ufffdz");
  assert.equal(commentSafe("a--b---c-"), "a- -b- - -c- ");
  assert.equal(fontFamily("Verdana"), "Verdana, sans-serif");
  assert.equal(fontFamily("monospace"), "monospace");
  assert.equal(fontFamily("'DejaVu Sans Mono', monospace"), '"DejaVu Sans Mono", monospace');
  assert.equal(fontFamily("'Noto Sans 2'"), '"Noto Sans 2", sans-serif');
  assert.equal(isolate("plain (name)"), "plain (name)");
  assert.equal(isolate("\u202eevil"), "\u2068\u202eevil\u2069");
  assert.equal(isolate("\u05e9\u05dc\u05d5\u05dd"), "\u2068\u05e9\u05dc\u05d5\u05dd\u2069");
  assert.equal(isolate("\u{10900}"), "\u2068\u{10900}\u2069", "Phoenician: astral right-to-left");
});

Deno.test("font lists: families quoted, generic ones bare; anything else refused", () => {
  assert.equal(cssFontFamilies("Verdana"), "Verdana");
  assert.equal(cssFontFamilies(" Times  New Roman ,serif"), "Times New Roman, serif");
  assert.equal(cssFontFamilies("Inherit, x initial, ok"), '"Inherit", "x initial", ok');
  assert.equal(
    cssFontFamilies(`'Font */ x', "A;B{}", Monospace`),
    '"Font */ x", "A;B{}", Monospace',
  );
  assert.equal(cssFontFamilies("微软雅黑, Noto_Sans-2.0"), '"微软雅黑", "Noto_Sans-2.0"');
  for (
    const bad of [
      "Verdana; } * { display:none } /*",
      "*/",
      "/* x",
      "Verdana}body{x:y",
      "a, , b",
      "",
      "'unclosed",
      `"mixed'`,
      "'it\\'s'",
      "A</style>",
      "'A</style>'",
      "'a & b'",
      "Ver\ndana",
      "url(x)",
      "Verdana !important",
    ]
  ) {
    assert.equal(cssFontFamilies(bad), undefined, JSON.stringify(bad));
  }
});

Deno.test("options that reach the stylesheet are checked in one place", () => {
  const lines = [{ stack: "a;b", count: 100 }];
  assert.throws(
    () => renderSvg(lines, { fontType: "Verdana; } * { display:none } /*" }),
    (e: unknown) =>
      e instanceof UsageError && /--fonttype wants a font-family list/.test(e.message),
  );
  assert.throws(() => renderSvg(lines, { bgColors: "url(http://x/#y)" }), /--bgcolors wants/);
  assert.throws(() => renderSvg(lines, { bgColors: 'red" onload="x' }), /--bgcolors wants/);
  assert.throws(() => renderSvg(lines, { fontSize: NaN }), /--fontsize wants a positive/);
  assert.throws(
    () => renderSvg(lines, { colors: "hot;}" as unknown as RenderOptions["colors"] }),
    /--colors wants one of hot, mem/,
  );
  assert.throws(() => renderSvg(lines, { height: -1 }), /--height wants a positive/);
  assert.equal(
    renderOptionProblem({ fontType: "Verdana, sans-serif", bgColors: "#aabbcc" }),
    undefined,
  );
  const { svg } = renderSvg(lines, { fontType: "'Font */ x', monospace", bgColors: "grey" });
  assert.match(svg, /text\{font-family:"Font \*\/ x", monospace;font-size:12px;fill:#000\}/);
  assert.match(svg, /input\{font:12px "Font \*\/ x", monospace;/);
});

Deno.test("build-time labels fit the frame or are cut with '..'", () => {
  assert.equal(fitLabel("short", 200, 12, 0.59), "short");
  assert.equal(fitLabel("a_rather_long_function_name", 60, 12, 0.59), "a_rat..");
  assert.equal(fitLabel("anything", 20, 12, 0.59), "");
  // Cut between code points: 60 px holds 7 characters, 6 emoji are 12 UTF-16 units.
  assert.equal(fitLabel("😀".repeat(6), 60, 12, 0.59), "😀".repeat(6));
  assert.equal(fitLabel("😀".repeat(9), 60, 12, 0.59), "😀".repeat(5) + "..");
  // A cut that can reorder text is isolated, so the ".." stays at its end.
  assert.equal(fitLabel("\u202eevil_function", 60, 12, 0.59), "\u2068\u202eevil\u2069..");
  assert.equal(fitLabel("a_rather_long\u202e", 60, 12, 0.59), "a_rat..", "cut before it");
  assert.equal(displayName("do_sys_open_[k]"), "do_sys_open");
  assert.equal(displayName("x[k]"), "x[k]");
});

Deno.test("counts are grouped by thousands as en-US writes them", () => {
  for (const n of [0, 7, 999, 1000, 12_345, 999_999, 1_234_567, 10_000_000]) {
    assert.equal(groupDigits(n), n.toLocaleString("en-US"));
  }
});

Deno.test("nothing to draw is a FlameError", () => {
  assert.throws(() => renderSvg([]), FlameError);
  assert.throws(() => renderSvg([{ stack: "a", count: 0 }]), /nothing to draw/);
});

Deno.test("minwidth in pixels and in percent: dropped frames are counted and noted", () => {
  const lines: FoldedLine[] = [{ stack: "main;big", count: 10_000 }];
  for (let i = 0; i < 30; i++) lines.push({ stack: `main;small${i};child`, count: 1 });
  const px = renderSvg(lines, { minWidth: 1 });
  // 1 px of 1180 px is 10030/1180 = 8.5 counts: each small frame (and its child) goes.
  assert.equal(px.framesDropped, 60);
  assert.match(px.svg, /<text id="details"[^>]*>60 frames narrower than 1 px not drawn/);
  const pct = renderSvg(lines, { minWidth: "0.005%" });
  assert.equal(pct.framesDropped, 0);
  const pct2 = renderSvg(lines, { minWidth: "0.1%" });
  assert.equal(pct2.framesDropped, 60);
  assert.match(pct2.svg, /narrower than 0.1% of the total not drawn \(grey bars/);
  // The 30 dropped siblings (30 counts > 0.1% of 10030) are drawn as one grey bar.
  const bars = frames(pct2.svg).filter((f) => f.cls === "h");
  assert.equal(bars.length, 1);
  assert.equal(bars[0].name, "30 frames too narrow to draw");
  assert.equal(bars[0].width, 30);
  assert.equal(bars[0].fill, undefined);
  // Under 1% even their run is too narrow: no bar.
  const pct3 = renderSvg(lines, { minWidth: "1%" });
  assert.equal(pct3.framesDropped, 60);
  assert.equal(frames(pct3.svg).filter((f) => f.cls === "h").length, 0);
  const none = renderSvg(lines, { minWidth: 0 });
  assert.equal(none.framesDropped, 0);
  assert.equal(none.framesDrawn, 2 + 1 + 60);
});

Deno.test("totals and factor go to the script; a smaller --total is ignored with a warning", () => {
  const r = renderSvg(SIMPLE, { total: 400, factor: 2.5 });
  const cfg = config(r.svg);
  assert.equal(cfg.t, 80); // in units of 5
  assert.equal(cfg.g, 5);
  assert.equal(cfg.f, 2.5);
  assert.equal(frames(r.svg)[0].width, 80);
  const small = renderSvg(SIMPLE, { total: 10 });
  assert.equal(frames(small.svg)[0].width, 20);
  assert.match(small.warnings.join("\n"), /--total 10 is less than the sum/);
});

Deno.test("a low sample count is warned about, as flamegraph.pl does", () => {
  assert.match(renderSvg([{ stack: "a", count: 3 }]).warnings.join(), /stack count is low \(3\)/);
  assert.deepEqual(renderSvg([{ stack: "a", count: 300 }]).warnings, []);
  assert.deepEqual(renderSvg([{ stack: "a", count: 3 }], { countName: "bytes" }).warnings, []);
});

Deno.test("differential: red for grown self time, blue for shrunk, delta in data-d", () => {
  const r = renderSvg([
    { stack: "main;grew", before: 10, count: 30 },
    { stack: "main;shrank", before: 30, count: 10 },
    { stack: "main;odd", before: 1, count: 1 },
    { stack: "main;same", before: 10, count: 10 },
  ]);
  assert.equal(r.differential, true);
  const by = (name: string) => frames(r.svg).find((f) => f.name === name)!;
  assert.equal(by("grew").fill, "#ff0000");
  assert.equal(by("grew").d, 20);
  assert.equal(by("shrank").fill, "#0000ff");
  assert.equal(by("shrank").d, -20);
  assert.equal(by("same").fill, "#ffffff");
  assert.equal(by("same").d, undefined);
  assert.equal(by("main").fill, "#ffffff");
  assert.equal(config(r.svg).d, 1);
  const neg = renderSvg([{ stack: "a", before: 1, count: 5 }], { negate: true });
  assert.equal(frames(neg.svg).find((f) => f.name === "a")!.fill, "#0000ff");
});

Deno.test("default colours match across graphs of the same program", () => {
  const a = frames(renderSvg(SIMPLE).svg);
  const b = frames(renderSvg([...SIMPLE, { stack: "other;lex", count: 7 }]).svg);
  const fill = (fs: Rect[], name: string) => fs.find((f) => f.name === name)!.fill;
  for (const name of ["main", "parse", "lex", "paint"]) assert.equal(fill(a, name), fill(b, name));
});

Deno.test("byte units: countname bytes or units option", () => {
  assert.equal(config(renderSvg(SIMPLE, { countName: "bytes" }).svg).b, 1);
  assert.equal(config(renderSvg(SIMPLE, { units: "bytes", countName: "B" }).svg).b, 1);
  assert.equal(config(renderSvg(SIMPLE).svg).b, 0);
});

Deno.test("huge totals are drawn on a 2^24 grid with exact widths in e", () => {
  const r = renderSvg([
    { stack: "a", count: 3_000_000_000 },
    { stack: "b", count: 1_000_000_007 },
  ]);
  const fs = frames(r.svg);
  assert.equal(fs[0].width, 2 ** 24);
  assert.equal(fs[0].n, 4_000_000_007);
  assert.equal(fs[1].n, 3_000_000_000);
  assert.equal(fs[1].width + fs[2].width, 2 ** 24);
  assert.equal(config(r.svg).tu, 4_000_000_007);
});

Deno.test("fractional counts: integer positions in scaled units", () => {
  const r = renderSvg([{ stack: "a", count: 1.5 }, { stack: "b", count: 0.35 }]);
  assert.equal(config(r.svg).u, 100);
  assert.equal(config(r.svg).g, 5);
  assert.deepEqual(frames(r.svg).map((f) => f.width), [37, 30, 7]);
  assert.equal(r.total, 1.85);
});

Deno.test("fixed width and fluid width", () => {
  const fluid = renderSvg(SIMPLE).svg;
  assert.match(fluid, /<svg version="1.1" [^>]*width="100%"/);
  assert.equal(config(fluid).w, 0);
  const fixed = renderSvg(SIMPLE, { width: 800 }).svg;
  assert.match(fixed, /<svg version="1.1" [^>]*width="800"/);
  assert.match(fixed, /<svg id="frames" x="10" y="\d+" width="780"/);
});

Deno.test("renderFoldedStacks renders a stack map", () => {
  const r = renderFoldedStacks(new Map([["a;b", 2], ["a;c", 3]]));
  assert.equal(r.framesDrawn, 4);
  assert.equal(r.total, 5);
});

Deno.test("a tiny graph is smaller than flamegraph.pl's (15,341 bytes for simple.folded)", () => {
  const lines: FoldedLine[] = [];
  const text = Deno.readTextFileSync(new URL("../fixtures/folded/simple.folded", import.meta.url));
  for (const line of text.trim().split("\n")) {
    const at = line.lastIndexOf(" ");
    lines.push({ stack: line.slice(0, at), count: Number(line.slice(at + 1)) });
  }
  const size = new TextEncoder().encode(renderSvg(lines).svg).length;
  assert.ok(size < 15_341, `${size} bytes`);
});

Deno.test("the document is compact: fewer bytes per frame than flamegraph.pl's ~150", () => {
  const lines: FoldedLine[] = [];
  for (let i = 0; i < 500; i++) lines.push({ stack: `main;mod${i % 7};fn${i}`, count: 10 + i });
  const r = renderSvg(lines, { minWidth: 0 });
  const frameBytes = frames(r.svg).reduce((n, f) => n + f.name.length, 0);
  const perFrame = (r.svg.length - frameBytes - 14_000) / r.framesDrawn;
  assert.ok(perFrame < 110, `${perFrame.toFixed(0)} bytes per frame`);
});
