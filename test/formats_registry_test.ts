/**
 * The registry: every fixture detected as its format from its first bytes (gzipped or not),
 * no byte lost by looking, output formats chosen by name or extension, inputs merged.
 */
import assert from "node:assert/strict";
import { FlameError, UsageError } from "../src/errors.ts";
import { formatInputFrom, HEAD_BYTES, peek, readAllBytes } from "../src/formats/input.ts";
import { mergeProfiles } from "../src/formats/merge.ts";
import {
  chooseWriter,
  detectReader,
  READERS,
  readProfiles,
  writerForOutput,
  WRITERS,
} from "../src/formats/registry.ts";
import { gzip } from "../src/formats/pprof.ts";
import { emptyProfile, totalWeight } from "../src/profile/profile.ts";
import { prng } from "./prng.ts";
import { repoPath } from "./helpers.ts";

const FIXTURES: [string, string][] = [
  ["formats/cprofile-py27.prof", "pstats"],
  ["formats/cprofile-py313.prof", "pstats"],
  ["formats/node.cpuprofile", "cpuprofile"],
  ["formats/deno.cpuprofile", "cpuprofile"],
  ["formats/pyspy.speedscope.json", "speedscope"],
  ["formats/pyspy.raw.txt", "pyspy-raw"],
  ["formats/cpython-collapsed.txt", "cpython-collapsed"],
  ["perf/c-fp.perf.txt", "perf"],
  ["perf/node-basic-prof.perf.txt", "perf"],
  ["dtrace/cpp.txt", "dtrace"],
  ["dtrace/java.txt", "dtrace"],
  ["folded/simple.folded", "folded"],
  ["folded/c-dwarf.folded", "folded"],
];

Deno.test("registry: every fixture is told by its head, gzipped or not", async () => {
  for (const [fixture, format] of FIXTURES) {
    const bytes = Deno.readFileSync(repoPath(`fixtures/${fixture}`));
    assert.equal(detectReader(bytes.subarray(0, HEAD_BYTES))?.name, format, fixture);
    const input = await formatInputFrom({
      name: fixture,
      readable: new Blob([(await gzip(bytes)) as BlobPart]).stream(),
    });
    assert.equal(detectReader(input.head)?.name, format, `${fixture} gzipped`);
    // The whole input is still there after the look.
    assert.deepEqual(await readAllBytes(input), bytes, fixture);
  }
});

Deno.test("registry: peeking loses no byte, whatever the chunk sizes", async () => {
  const random = prng(7);
  const data = Uint8Array.from({ length: 300_000 }, () => Math.floor(random() * 256));
  for (const chunk of [1, 7, 4096, 65_536, 100_000]) {
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < data.length; at += chunk) c.enqueue(data.slice(at, at + chunk));
        c.close();
      },
    });
    const { head, readable } = await peek(stream, 1000);
    assert.deepEqual(head, data.subarray(0, 1000));
    const all = new Uint8Array(await new Response(readable).arrayBuffer());
    assert.deepEqual(all, data, `chunks of ${chunk}`);
  }
});

Deno.test("registry: output format by name or by -o's extension; unknown ones listed", () => {
  assert.equal(chooseWriter(undefined, "a/b.svg").name, "svg");
  assert.equal(chooseWriter(undefined, "x.folded").name, "folded");
  assert.equal(chooseWriter(undefined, "x.speedscope.json").name, "speedscope");
  assert.equal(chooseWriter(undefined, "x.json").name, "json");
  assert.equal(chooseWriter(undefined, "X.PB.GZ").name, "pprof");
  assert.equal(chooseWriter(undefined, "x.txt").name, "summary");
  assert.equal(chooseWriter("pprof", "x.svg").name, "pprof");
  assert.equal(chooseWriter(undefined, undefined).name, "folded");
  assert.throws(() => chooseWriter(undefined, "x.png"), (err: Error) => {
    assert.ok(err instanceof UsageError);
    for (const ext of [".svg", ".folded", ".speedscope.json", ".pb.gz", ".txt", ".json"]) {
      assert.ok(err.hint?.includes(ext), `${ext} in ${err.hint}`);
    }
    return true;
  });
  assert.throws(() => chooseWriter("png", undefined), /unknown format 'png'/);
  // Every writer and reader has a distinct name.
  assert.equal(new Set(WRITERS.map((w) => w.name)).size, WRITERS.length);
  assert.equal(new Set(READERS.map((r) => r.name)).size, READERS.length);
});

Deno.test("registry: several inputs merge; different units do not", async () => {
  const a = repoPath("fixtures/folded/simple.folded");
  const { profile } = await readProfiles([a, a]);
  const single = (await readProfiles([a])).profile;
  assert.equal(totalWeight(profile.stacks), 2 * totalWeight(single.stacks));
  const ns = emptyProfile("nanoseconds");
  ns.stacks.set("a", 1);
  assert.throws(
    () => mergeProfiles([single, ns], ["a.folded", "b.prof"]),
    (err: Error) =>
      err instanceof FlameError && /b\.prof \(nanoseconds\) with a\.folded/.test(err.message),
  );
});

Deno.test("registry: an input no reader knows is one line naming the readers", async () => {
  const input = await formatInputFrom({
    name: "x.bin",
    readable: new Blob([new Uint8Array([0, 1, 2, 3, 255])]).stream(),
  });
  const { readFormatInput } = await import("../src/formats/registry.ts");
  await assert.rejects(
    readFormatInput(input),
    /^FlameError: x\.bin: not a profile format flame reads \(pprof, pstats/,
  );
});

Deno.test("registry: a capture's output format: --format, else the extension, else an SVG", () => {
  assert.equal(writerForOutput("pprof", "x.svg").name, "pprof");
  assert.equal(writerForOutput(undefined, "x.speedscope.json").name, "speedscope");
  assert.equal(writerForOutput(undefined, "x.unknown").name, "svg");
  assert.equal(writerForOutput(undefined, undefined).name, "svg");
  assert.throws(() => writerForOutput("nope", undefined), UsageError);
});
