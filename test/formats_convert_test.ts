/**
 * `flame convert` as users run it (dist/flame): every output format round-trips folded stacks
 * with their totals, every input fixture converts, -o's extension picks the format, and bad
 * inputs and outputs are one line and an exit status.
 */
import assert from "node:assert/strict";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";

/** Folded text to a sorted map of stack → count. */
function foldedMap(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    const at = line.lastIndexOf(" ");
    if (at > 0) {
      m.set(line.slice(0, at), (m.get(line.slice(0, at)) ?? 0) + Number(line.slice(at + 1)));
    }
  }
  return new Map([...m].sort());
}

const FOLDED = ["folded/c-dwarf.folded", "folded/python313-perfjit.folded", "folded/simple.folded"];

for (const fixture of FOLDED) {
  Deno.test(`convert: ${fixture} → speedscope, pprof, folded → folded: the same stacks`, async () => {
    await withTempDir(async (dir) => {
      const input = repoPath(`fixtures/${fixture}`);
      const original = foldedMap(Deno.readTextFileSync(input));
      for (const ext of ["speedscope.json", "pb.gz", "folded"]) {
        const out = `${dir}/x.${ext}`;
        const there = await runFlame(["convert", input, "-o", out]);
        assert.equal(there.code, 0, there.stderr);
        const back = await runFlame(["convert", out]);
        assert.equal(back.code, 0, back.stderr);
        assert.deepEqual(foldedMap(back.stdout), original, ext);
      }
    });
  });
}

Deno.test("convert: every recorded input converts; json totals match folded totals", async () => {
  const inputs = [
    "formats/cprofile-py27.prof",
    "formats/cprofile-py312.prof",
    "formats/node.cpuprofile",
    "formats/deno.cpuprofile",
    "formats/pyspy.speedscope.json",
    "formats/pyspy.raw.txt",
    "formats/cpython-collapsed.txt",
    "perf/c-fp.perf.txt",
    "dtrace/c-workload.txt",
  ];
  for (const fixture of inputs) {
    const path = repoPath(`fixtures/${fixture}`);
    const folded = await runFlame(["convert", "-q", path]);
    assert.equal(folded.code, 0, `${fixture}: ${folded.stderr}`);
    const json = await runFlame(["convert", "-q", path, "--format", "json"]);
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(json.stdout);
    const sum = [...foldedMap(folded.stdout).values()].reduce((a, b) => a + b, 0);
    assert.ok(
      Math.abs(summary.total - sum) <= Math.max(1, sum * 1e-9),
      `${fixture}: ${summary.total} vs ${sum}`,
    );
    assert.ok(summary.bySelf.length > 0, fixture);
  }
});

Deno.test("convert: svg (with render options), summary text and json by extension", async () => {
  await withTempDir(async (dir) => {
    const input = repoPath("fixtures/formats/cprofile-py313.prof");
    const r = await runFlame([
      "convert",
      input,
      "-o",
      `${dir}/a.svg`,
      "--title",
      "cProfile <of> prog",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /call tree is rebuilt/);
    const svg = Deno.readTextFileSync(`${dir}/a.svg`);
    assert.match(svg, /^<\?xml|^<svg/);
    assert.ok(svg.includes("cProfile &lt;of&gt; prog"));
    assert.ok(svg.includes("shared (prog.py:18)"));
    assert.equal((await runFlame(["convert", "-q", input, "-o", `${dir}/a.txt`])).code, 0);
    assert.match(Deno.readTextFileSync(`${dir}/a.txt`), /Top \d+ functions by self time/);
    assert.equal(
      (await runFlame(["convert", "-q", input, "-o", `${dir}/a.json`, "--top", "3"])).code,
      0,
    );
    assert.equal(JSON.parse(Deno.readTextFileSync(`${dir}/a.json`)).bySelf.length, 3);
  });
});

Deno.test("convert: several inputs merge into one profile", async () => {
  const a = repoPath("fixtures/folded/simple.folded");
  const once = foldedMap((await runFlame(["convert", a])).stdout);
  const r = await runFlame(["convert", a, a]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(foldedMap(r.stdout), new Map([...once].map(([k, v]) => [k, 2 * v])));
});

Deno.test("convert: stdin in, the format told by content", async () => {
  const bytes = Deno.readFileSync(repoPath("fixtures/formats/node.cpuprofile"));
  const r = await runFlame(["convert", "--format", "summary", "--top", "2"], { stdin: bytes });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^<stdin>: \d/);
});

Deno.test("convert: unknown extension, unknown format, bad input: one line and a status", async () => {
  await withTempDir(async (dir) => {
    const input = repoPath("fixtures/folded/simple.folded");
    const ext = await runFlame(["convert", input, "-o", `${dir}/x.png`]);
    assert.equal(ext.code, 2);
    assert.match(ext.stderr, /^flame: error: cannot tell the output format from '.*x\.png'\n/);
    assert.match(ext.stderr, /\.speedscope\.json/);
    assert.match(ext.stderr, /\.pb\.gz/);
    const fmt = await runFlame(["convert", input, "--format", "png"]);
    assert.equal(fmt.code, 2);
    assert.match(fmt.stderr, /unknown format 'png'/);
    // A truncated gzip and a JSON that is not a profile: exit 1, one error line, no output file.
    const gz = Deno.readFileSync(repoPath("fixtures/formats/pyspy.raw.txt"));
    const zipped = new Uint8Array(
      await new Response(new Blob([gz]).stream().pipeThrough(new CompressionStream("gzip")))
        .arrayBuffer(),
    );
    Deno.writeFileSync(`${dir}/cut.gz`, zipped.subarray(0, zipped.length - 100));
    Deno.writeTextFileSync(`${dir}/other.json`, '{"traceEvents": 3}');
    for (const bad of [`${dir}/cut.gz`, `${dir}/other.json`]) {
      const r = await runFlame(["convert", bad, "-o", `${dir}/out.svg`]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(
        r.stderr.trim().split("\n").filter((l) => !l.startsWith("  hint:")).length,
        1,
        r.stderr,
      );
      assert.match(r.stderr, /^flame: error: /);
      assert.throws(() => Deno.statSync(`${dir}/out.svg`));
    }
  });
});

Deno.test("convert --help: the formats, the cProfile approximation, examples", async () => {
  const r = await runFlame(["convert", "--help"]);
  assert.equal(r.code, 0);
  for (
    const word of ["speedscope", "pprof", "pstats", "cpuprofile", "pyspy-raw", "summary", "json"]
  ) {
    assert.ok(r.stdout.includes(word), word);
  }
  assert.match(r.stdout, /splitting each function's time among its callers/);
  assert.match(r.stdout, /Examples:/);
  assert.match(r.stdout, /--title/);
});

Deno.test("convert: perf script text gets the Python frames flame collapse gives", async () => {
  const input = repoPath("fixtures/perf/python313-perfjit.perf.txt");
  await withTempDir(async (dir) => {
    const converted = await runFlame(["convert", input, "-o", `${dir}/c.folded`]);
    assert.equal(converted.code, 0, converted.stderr);
    const collapsed = await runFlame(["collapse", input]);
    assert.equal(collapsed.code, 0, collapsed.stderr);
    const lines = (text: string) => text.trim().split("\n").sort();
    assert.deepEqual(lines(Deno.readTextFileSync(`${dir}/c.folded`)), lines(collapsed.stdout));
    assert.match(collapsed.stdout, /;main \(work\.py\);/);
  });
});
