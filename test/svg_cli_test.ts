import assert from "node:assert/strict";
import { generateProfile } from "../bench/render.ts";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";

const SIMPLE = repoPath("fixtures/folded/simple.folded");

function rectCount(svg: string): number {
  return (svg.match(/<rect x=/g) ?? []).length;
}

Deno.test("flame svg FILE -o OUT writes an SVG, nothing on stdout", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/graph.svg`;
    const r = await runFlame(["svg", SIMPLE, "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const svg = await Deno.readTextFile(out);
    assert.match(svg, /^<\?xml [^>]*\?>\n<svg /);
    assert.ok(svg.trimEnd().endsWith("</svg>"));
    assert.equal(rectCount(svg), 12);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(left, ["graph.svg"], "no temp file left behind");
  });
});

Deno.test("flame svg reads stdin and writes stdout", async () => {
  const r = await runFlame(["svg"], { stdin: "a;b 3\na;c 4\n" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /t="b"\/>/);
  assert.match(r.stdout, /t="c"\/>/);
  const dash = await runFlame(["svg", "-"], { stdin: "a;b 3\n" });
  assert.equal(dash.code, 0);
  assert.match(dash.stdout, /t="b"\/>/);
});

Deno.test("several files are read as one input", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/1.folded`, "a;b 3\n");
    await Deno.writeTextFile(`${dir}/2.folded`, "a;b 2\na;c 7\n");
    const r = await runFlame(["svg", `${dir}/1.folded`, `${dir}/2.folded`, "--minwidth", "0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<rect x="0" y="\d+" width="5" [^>]* t="b"\/>/);
    assert.match(r.stdout, /<rect x="5" y="\d+" width="7" [^>]* t="c"\/>/);
  });
});

Deno.test("a large graph is written whole, to stdout as to a file", async () => {
  await withTempDir(async (dir) => {
    const input = `${dir}/big.folded`;
    await Deno.writeTextFile(input, generateProfile(3000));
    const out = `${dir}/graph.svg`;
    const file = await runFlame(["svg", input, "-o", out]);
    assert.equal(file.code, 0, file.stderr);
    const piped = await runFlame(["svg", input]);
    assert.equal(piped.code, 0, piped.stderr);
    const svg = await Deno.readTextFile(out);
    assert.ok(svg.length > 1 << 17, "more than a pipe holds");
    assert.equal(piped.stdout, svg);
  });
});

Deno.test("CRLF input renders exactly like LF input", async () => {
  const lf = await runFlame(["svg", SIMPLE]);
  const crlf = await runFlame(["svg", repoPath("fixtures/folded/crlf.folded")]);
  assert.equal(crlf.code, 0, crlf.stderr);
  assert.equal(crlf.stderr, "");
  assert.equal(crlf.stdout, lf.stdout);
});

Deno.test("empty input: exit 1, one clear line, nothing written to -o", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/graph.svg`;
    for (const stdin of ["", "\n\n# just a comment\n", "no counts here\n"]) {
      const r = await runFlame(["svg", "-o", out], { stdin });
      assert.equal(r.code, 1, JSON.stringify(stdin));
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /^flame: error: no stack counts found in stdin: [^\n]*\n$/);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    }
  });
});

Deno.test("invalid lines are skipped with one summary warning", async () => {
  const r = await runFlame(["svg", repoPath("fixtures/folded/invalid.folded")]);
  assert.equal(r.code, 0);
  const warnings = r.stderr.split("\n").filter((l) => l.includes("ignored"));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(
    warnings[0],
    /ignored 3 lines that are not folded stacks \(first at .*invalid\.folded:2\)/,
  );
  assert.match(r.stdout, /t="build_ast"\/>/);
});

Deno.test("a file of only bad lines: one error line with the count and the first", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/bad.folded`, "# comment\nhello world\nno count\n");
    const r = await runFlame(["svg", `${dir}/bad.folded`]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      `flame: error: no stack counts found in ${dir}/bad.folded: 2 lines are not folded stacks ` +
        `like 'main;work;leaf 42' (first at ${dir}/bad.folded:2)\n`,
    );
  });
});

Deno.test("a missing file is one line naming it", async () => {
  const r = await runFlame(["svg", "/nonexistent/x.folded"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^flame: error: \/nonexistent\/x\.folded: no such file or directory\n$/);
});

Deno.test("options reach the graph", async () => {
  const r = await runFlame([
    "svg",
    SIMPLE,
    "--title",
    "My <title>",
    "--subtitle",
    "sub",
    "--width",
    "900",
    "--height",
    "20",
    "--fonttype",
    "monospace",
    "--fontsize",
    "14",
    "--countname",
    "ms",
    "--nametype",
    "Frame:",
    "--colors",
    "blue",
    "--bgcolors",
    "#102030",
    "--inverted",
    "--notes",
    "hello",
    "--factor",
    "2",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const svg = r.stdout;
  assert.match(svg, /<!-- NOTES: hello -->/);
  assert.match(svg, />My &lt;title&gt;</);
  assert.match(svg, /<text id="subtitle"[^>]*>sub</);
  assert.match(svg, /<svg version="1.1" [^>]*width="900"/);
  assert.match(svg, /height="19" fill="#/);
  assert.match(svg, /font-family:monospace;font-size:14px/);
  assert.match(svg, /fill="#102030"/);
  assert.match(svg, /&quot;c&quot;:&quot;ms&quot;/);
  assert.match(svg, /&quot;nt&quot;:&quot;Frame:&quot;/);
  assert.match(svg, /&quot;f&quot;:2/);
  assert.match(svg, /&quot;inv&quot;:1/);
});

Deno.test("--palette, --hash, --reverse, --flamechart and --minwidth N% are accepted", async () => {
  for (
    const args of [
      ["--palette", "java"],
      ["--hash"],
      ["--random"],
      ["--reverse"],
      ["--flamechart"],
      ["--minwidth", "2%"],
      ["--total", "500"],
    ]
  ) {
    const r = await runFlame(["svg", SIMPLE, ...args]);
    assert.equal(r.code, 0, `${args}: ${r.stderr}`);
    assert.match(r.stdout, /<\/svg>\n$/);
  }
});

Deno.test("--cp keeps colours in ./palette.map", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/palette.map`, "lex->rgb(1,2,3)\n");
    const r = await runFlame(["svg", SIMPLE, "--cp"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /fill="#010203" t="lex"/);
    const map = await Deno.readTextFile(`${dir}/palette.map`);
    assert.match(map, /^lex->rgb\(1,2,3\)$/m);
    assert.match(map, /^paint->rgb\(\d+,\d+,\d+\)$/m);
  });
});

Deno.test("bad option values are usage errors (exit 2)", async () => {
  for (
    const [args, message] of [
      [["--width", "wide"], /--width wants a number/],
      [["--minwidth=-1"], /--minwidth wants pixels or a percentage/],
      [["--minwidth", "x%"], /--minwidth wants pixels or a percentage/],
      [["--colors", "rainbow"], /unknown palette 'rainbow'/],
      [["--bgcolors", "pink"], /--bgcolors wants/],
      [["--fonttype", "Verdana; } * { display:none } /*"], /--fonttype wants a font-family/],
      [["--fonttype", "*/"], /--fonttype wants a font-family list/],
      [["--fontsize", "0"], /--fontsize wants a number >= 1/],
      [["--bogus"], /unknown option '--bogus'/],
    ] as const
  ) {
    const r = await runFlame(["svg", SIMPLE, ...args]);
    assert.equal(r.code, 2, `${args}`);
    assert.match(r.stderr, message);
    assert.match(r.stderr, /hint: run 'flame svg --help'/);
  }
});

Deno.test("a differential input (two counts) draws red and blue", async () => {
  const r = await runFlame(["svg", repoPath("fixtures/folded/diff.folded")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fill="#ff0000" data-d="20" t="layout"/);
  assert.match(r.stdout, /fill="#0000ff" data-d="-20" t="lex"/);
  assert.match(r.stdout, /fill="#[0-9a-f]{4}ff" data-d="-18" t="draw_text"/);
  assert.match(r.stdout, /fill="#ff[0-9a-f]{4}" data-d="15" t="read"/);
});

Deno.test("fractional counts are kept", async () => {
  const r = await runFlame(["svg", repoPath("fixtures/folded/fractional.folded")]);
  assert.equal(r.code, 0, r.stderr);
  // 1.25, 0.5 and 2.125 are 10, 4 and 17 units of 0.125.
  assert.match(r.stdout, /&quot;u&quot;:1000,&quot;g&quot;:125/);
  assert.match(r.stdout, /width="31" [^>]* t="all"/);
});

Deno.test("--help shows usage, every option and examples", async () => {
  const r = await runFlame(["svg", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: flame svg /);
  assert.match(r.stdout, /^Examples:$/m);
  for (
    const opt of [
      "--title",
      "--subtitle",
      "--width",
      "--height",
      "--minwidth",
      "--fonttype",
      "--fontsize",
      "--fontwidth",
      "--countname",
      "--nametype",
      "--colors",
      "--bgcolors",
      "--hash",
      "--random",
      "--cp",
      "--reverse",
      "--inverted",
      "--flamechart",
      "--negate",
      "--notes",
      "--factor",
      "--total",
      "--output",
    ]
  ) assert.match(r.stdout, new RegExp(`${opt}\\b`), opt);
});

Deno.test("any profile format is drawn: speedscope, pprof, perf script text", async () => {
  await withTempDir(async (dir) => {
    const speedscope = await runFlame([
      "svg",
      repoPath("fixtures/formats/pyspy.speedscope.json"),
      "-o",
      `${dir}/s.svg`,
    ]);
    assert.equal(speedscope.code, 0, speedscope.stderr);
    // Time from speedscope's unit: tooltips say seconds, not samples.
    assert.match(Deno.readTextFileSync(`${dir}/s.svg`), /&quot;c&quot;:&quot;ns&quot;/);
    // flame's own pprof, gzipped, of a folded file: the same stacks drawn.
    const folded = `${dir}/x.folded`;
    Deno.writeTextFileSync(folded, "main;parse;lex 30\nmain;eval 70\n");
    const conv = await runFlame(["convert", folded, "-o", `${dir}/x.pb.gz`]);
    assert.equal(conv.code, 0, conv.stderr);
    const fromPprof = await runFlame(["svg", `${dir}/x.pb.gz`, "--minwidth", "0"]);
    const fromFolded = await runFlame(["svg", folded, "--minwidth", "0"]);
    assert.equal(fromPprof.code, 0, fromPprof.stderr);
    for (const frame of ["lex", "eval"]) {
      const width = (svg: string) =>
        new RegExp(`width="([\\d.]+)"[^>]* t="${frame}"`).exec(svg)?.[1];
      assert.equal(width(fromPprof.stdout), width(fromFolded.stdout), frame);
    }
    const perf = await runFlame(["svg", repoPath("fixtures/perf/c-dwarf.perf.txt")]);
    assert.equal(perf.code, 0, perf.stderr);
    assert.match(perf.stdout, /t="main"/);
    // stdin too
    const piped = await runFlame(["svg", "-"], {
      stdin: Deno.readFileSync(`${dir}/x.pb.gz`),
    });
    assert.equal(piped.code, 0, piped.stderr);
    assert.match(piped.stdout, /t="lex"/);
  });
});
