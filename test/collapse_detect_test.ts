import assert from "node:assert/strict";
import { detectFormat, enoughToDetect, FoldedCollapser } from "../src/collapse/detect.ts";
import { InputFormatError } from "../src/collapse/types.ts";
import { formatCount, sortedStacks } from "../src/folded/stacks.ts";
import { repoPath } from "./helpers.ts";

function read(path: string): string {
  return Deno.readTextFileSync(repoPath(path));
}

Deno.test("detect: every recorded perf fixture is perf", () => {
  for (const entry of Deno.readDirSync(repoPath("fixtures/perf"))) {
    const head = read(`fixtures/perf/${entry.name}`).slice(0, 8192);
    assert.equal(detectFormat(head), "perf", entry.name);
  }
});

Deno.test("detect: perf without call chains, with old headers, with a comment header", () => {
  const oneLine =
    "              sh  7229   344.054927:    1001001 cpu-clock:  ffffffff81706ea9 fdget_pos+0x29 ([kernel.kallsyms])\n";
  assert.equal(detectFormat(oneLine, true), "perf");
  const old = "func_ab 15294 cpu-clock: \n\t          400570 func_b (/root/lang/func_ab)\n\n";
  assert.equal(detectFormat(old, true), "perf");
  const header = "# ========\n# captured on: today\n".repeat(300);
  assert.equal(enoughToDetect(header), false);
  assert.equal(detectFormat(header + old, true), "perf");
});

Deno.test("detect: DTrace aggregations, with and without a header", () => {
  for (const name of ["c-workload.txt", "java.txt", "no-header.txt"]) {
    assert.equal(detectFormat(read(`fixtures/dtrace/${name}`).slice(0, 8192)), "dtrace", name);
  }
});

Deno.test("detect: folded stacks, and text that is none of the three", () => {
  assert.equal(detectFormat("main;foo;bar 12\nmain;foo 3\nmain 1.5\n", true), "folded");
  assert.equal(detectFormat(read("fixtures/dtrace/c-workload.folded").slice(0, 8192)), "folded");
  assert.equal(detectFormat("Hello, world.\nThis is a letter.\n", true), undefined);
  assert.equal(detectFormat("", true), undefined);
});

Deno.test("detect: a line cut at the end of the head is not looked at", () => {
  // "main;foo 1" cut to "main;foo" would not be a folded line.
  assert.equal(detectFormat("main;foo 1\nmain;bar 2\nmain;fo"), "folded");
});

function fold(text: string, chunk = 5) {
  const c = new FoldedCollapser();
  for (let i = 0; i < text.length; i += chunk) c.push(text.slice(i, i + chunk));
  const r = c.finish();
  return {
    folded: sortedStacks(r.stacks).map(([s, n]) => `${s} ${formatCount(n)}\n`).join(""),
    warnings: r.warnings,
  };
}

Deno.test("folded: equal stacks are merged and sorted; fractions are kept", () => {
  const r = fold("b;c 2\na 1\r\nb;c 3\n# comment\n\na 0.5\n");
  assert.equal(r.folded, "a 1.5\nb;c 5\n");
  assert.deepEqual(r.warnings, []);
});

Deno.test("folded: lines without a count are skipped with a warning", () => {
  const r = fold("a 1\nnot a stack\nb 2\n");
  assert.equal(r.folded, "a 1\nb 2\n");
  assert.match(r.warnings[0], /1 line without a count skipped, the first at line 2/);
  assert.throws(() => fold("no counts here\nnone\n"), InputFormatError);
});
