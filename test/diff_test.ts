import assert from "node:assert/strict";
import {
  diffStacks,
  diffToFolded,
  formatDiffLine,
  normalizeCount,
  stripHex,
  sumDiffInput,
} from "../src/folded/diff.ts";
import { parseFoldedLine } from "../src/folded/parse.ts";
import { renderSvg } from "../src/render/mod.ts";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";

const BEFORE = repoPath("fixtures/diff/before.folded");
const AFTER = repoPath("fixtures/diff/after.folded");

function expected(name: string): string {
  return Deno.readTextFileSync(repoPath(`fixtures/diff/${name}`));
}

/** Folded lines from text, as the CLI reads them. */
function lines(text: string) {
  return text.split("\n").map(parseFoldedLine).filter((l) => l !== undefined);
}

function diffText(before: string, after: string, options = {}): string {
  return diffStacks(
    sumDiffInput(lines(before), options),
    sumDiffInput(lines(after), options),
    options,
  )
    .map(formatDiffLine).join("\n");
}

Deno.test("diff: the union of stacks, a missing side counting 0", () => {
  assert.equal(
    diffText("a;b 3\na;c 2\n", "a;b 5\na;d 1\n"),
    "a;b 3 5\na;c 2 0\na;d 0 1",
  );
});

Deno.test("diff: duplicate stacks in one input are summed", () => {
  assert.equal(diffText("a 1\na 2\n", "a 4\n"), "a 3 4");
});

Deno.test("diff: output is sorted in byte order", () => {
  const out = diffText("z 1\nä 1\nb 1\nB 1\n😀 1\n\uffff 1\n", "a 1\n");
  // UTF-8 byte order: ASCII, then U+00E4, U+FFFF, then the supplementary-plane emoji.
  assert.deepEqual(out.split("\n").map((l) => l.split(" ")[0]), [
    "B",
    "a",
    "b",
    "z",
    "ä",
    "\uffff",
    "😀",
  ]);
});

Deno.test("diff: stripHex replaces every hex number", () => {
  assert.equal(stripHex("main;0x7f3A12c4;f 0x1"), "main;0x...;f 0x...");
  assert.equal(stripHex("no hex here; 0x"), "no hex here; 0x");
  assert.equal(
    diffText("a;0xdead 1\na;0xbeef 2\n", "a;0x1 5\n", { stripHex: true }),
    "a;0x... 3 5",
  );
  assert.equal(
    diffText("a;0xdead 1\n", "a;0x1 5\n"),
    "a;0x1 0 5\na;0xdead 1 0",
  );
});

Deno.test("diff: normalize scales BEFORE to AFTER's total and truncates", () => {
  assert.equal(normalizeCount(35, 145, 164.5), 39); // 39.7 truncated
  assert.equal(normalizeCount(7, 10, 10), 7);
  assert.equal(normalizeCount(3, 0, 10), 3);
  // Equal totals: counts untouched, even fractional ones.
  assert.equal(diffText("a 1.5\nb 2.5\n", "a 2\nb 2\n", { normalize: true }), "a 1.5 2\nb 2.5 2");
  assert.equal(diffText("a 10\nb 30\n", "a 5\nb 5\n", { normalize: true }), "a 2 5\nb 7 5");
});

Deno.test("diff: fractional counts are kept and summed", () => {
  assert.equal(
    diffText("a 14.2343983248722834234\na 0.5\n", "a 1.25\n"),
    "a 14.7343983248723 1.25",
  );
});

Deno.test("diff: diffToFolded gives differential lines (width from AFTER)", () => {
  assert.deepEqual([...diffToFolded([{ stack: "a;b", before: 3, after: 5 }])], [
    { stack: "a;b", count: 5, before: 3 },
  ]);
});

for (
  const [flags, file] of [
    [[], "default.expected"],
    [["-s"], "strip-hex.expected"],
    [["--strip-hex"], "strip-hex.expected"],
    [["-n"], "normalize.expected"],
    [["--normalize"], "normalize.expected"],
  ] as const
) {
  Deno.test(`diff --folded ${flags.join(" ")} matches ${file}`, async () => {
    const r = await runFlame(["diff", "--folded", ...flags, BEFORE, AFTER]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(r.stdout, expected(file));
  });
}

Deno.test("diff --folded: -o writes the file; '-' reads stdin", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/d.folded`;
    const r = await runFlame(["diff", "--folded", "-o", out, "-", AFTER], {
      stdin: Deno.readTextFileSync(BEFORE),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(Deno.readTextFileSync(out), expected("default.expected"));
  });
});

Deno.test("diff: invalid lines are skipped with one warning (count, first line)", async () => {
  const r = await runFlame([
    "diff",
    "--folded",
    repoPath("fixtures/diff/some-invalid.folded"),
    AFTER,
  ]);
  assert.equal(r.code, 0);
  const warnings = r.stderr.trimEnd().split("\n");
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /^flame: warning: .*some-invalid\.folded: ignored 2 lines .*line 2\)$/);
  // CRLF lines read like LF ones: 'main;gc 1\r\n' is valid.
  assert.match(r.stdout, /^main;gc 1 40$/m);
  assert.match(r.stdout, /^main;parse;lex 3 35$/m);
});

Deno.test("diff: a missing file is one line naming it, exit 1", async () => {
  for (const args of [["nope.folded", AFTER], [BEFORE, "nope.folded"]]) {
    const r = await runFlame(["diff", "--folded", ...args]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "flame: error: nope.folded: no such file or directory\n");
  }
});

Deno.test("diff: a file with no folded stacks is one line, exit 1", async () => {
  const r = await runFlame([
    "diff",
    "--folded",
    BEFORE,
    repoPath("fixtures/diff/no-stacks.folded"),
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr.trimEnd().split("\n").length, 1);
  assert.match(r.stderr, /^flame: error: .*no-stacks\.folded: no folded stacks/);
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/empty.folded`, "");
    const e = await runFlame(["diff", "--folded", `${dir}/empty.folded`, AFTER]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /empty\.folded: no folded stacks .*: it is empty\n$/);
  });
});

Deno.test("diff: usage errors exit 2 with a hint", async () => {
  for (
    const args of [
      ["diff", BEFORE],
      ["diff", BEFORE, AFTER, AFTER],
      ["diff", "-", "-"],
      ["diff", "--bogus", BEFORE, AFTER],
      ["diff", "--colors", "nope", BEFORE, AFTER],
    ]
  ) {
    const r = await runFlame(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^flame: error: diff: /, args.join(" "));
  }
});

Deno.test("diff --help: usage, options and examples", async () => {
  const r = await runFlame(["diff", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: flame diff /);
  for (const opt of ["--folded", "--normalize", "--strip-hex", "--output", "--negate", "--title"]) {
    assert.ok(r.stdout.includes(opt), opt);
  }
  assert.match(r.stdout, /^Examples:$/m);
});

/** True once the renderer draws (it is built in parallel with this command). */
function rendererReady(): boolean {
  try {
    renderSvg([{ stack: "a", count: 1 }]);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "diff: draws a differential SVG to stdout or -o",
  ignore: !rendererReady(),
  fn: async () => {
    const r = await runFlame(["diff", BEFORE, AFTER]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /<svg[\s>]/);
    assert.match(r.stdout, /cache_get/);
    assert.match(r.stdout, /before\.folded vs .*after\.folded/);
    await withTempDir(async (dir) => {
      const o = await runFlame([
        "diff",
        "-n",
        "--title",
        "Lookups",
        BEFORE,
        AFTER,
        "-o",
        `${dir}/d.svg`,
      ]);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(o.stdout, "");
      const svg = Deno.readTextFileSync(`${dir}/d.svg`);
      assert.match(svg, /Lookups/);
      assert.match(svg, /<\/svg>\s*$/);
    });
  },
});

Deno.test("diff: profiles in other formats are compared by their stacks", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/b.folded`, "main;a 10\nmain;b 10\n");
    Deno.writeTextFileSync(`${dir}/a.folded`, "main;a 30\nmain;b 10\n");
    const conv = await runFlame(["convert", `${dir}/a.folded`, "-o", `${dir}/a.speedscope.json`]);
    assert.equal(conv.code, 0, conv.stderr);
    const r = await runFlame(["diff", "--folded", `${dir}/b.folded`, `${dir}/a.speedscope.json`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "main;a 10 30\nmain;b 10 10\n");
  });
});
