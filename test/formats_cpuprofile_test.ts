/**
 * V8 CPU profiles: real `node --cpu-prof` and `deno --cpu-prof` files, the time order kept on
 * the timeline, frames named and described, and malformed profiles as one line of error.
 */
import assert from "node:assert/strict";
import { FlameError } from "../src/errors.ts";
import { cpuprofileToProfile } from "../src/formats/cpuprofile.ts";
import { formatInputFrom } from "../src/formats/input.ts";
import { readFormatInput, readProfile } from "../src/formats/registry.ts";
import { stackFrames, totalWeight } from "../src/profile/profile.ts";
import { repoPath } from "./helpers.ts";

for (const runtime of ["node", "deno"]) {
  Deno.test(`cpuprofile: ${runtime} --cpu-prof: samples in time order, weights in ns`, async () => {
    const path = repoPath(`fixtures/formats/${runtime}.cpuprofile`);
    const json = JSON.parse(Deno.readTextFileSync(path));
    const { profile, format } = await readProfile(path);
    assert.equal(format, "cpuprofile");
    assert.equal(profile.unit, "nanoseconds");
    const tl = profile.timeline!;
    // One timeline entry per sample that is not the bare root; times never go back.
    const rootId = json.nodes[0].id;
    const kept = json.samples.filter((id: number) => id !== rootId).length;
    assert.equal(tl.stacks.length, kept);
    for (let i = 1; i < tl.times.length; i++) assert.ok(tl.times[i] >= tl.times[i - 1]);
    // The timeline and the stacks hold the same weight; it spans the profile's time.
    const sum = tl.weights.reduce((a, b) => a + b, 0);
    assert.equal(sum, totalWeight(profile.stacks));
    const spanNs = (json.endTime - json.startTime) * 1000;
    assert.ok(Math.abs(sum - spanNs) / spanNs < 0.05, `${sum} vs ${spanNs}`);
    // The program's functions, named `name /path/prog.js:line:col`, described as JS.
    const shared = [...profile.frames.keys()].find((n) => /^shared \S+prog\.js:9:\d+$/.test(n));
    assert.ok(shared, [...profile.frames.keys()].join("\n"));
    const info = profile.frames.get(shared)!;
    assert.equal(info.kind, "js");
    assert.equal(info.line, 9);
    assert.match(info.file!, /prog\.js$/);
    // heavy → shared and light → shared are separate stacks under main.
    const stacks = [...profile.stacks.keys()];
    assert.ok(stacks.some((k) => /main [^;]+;heavy [^;]+;shared /.test(k)));
    assert.ok(!stacks.some((k) => stackFrames(k)[0] === "(root)"));
  });
}

Deno.test("cpuprofile: no samples: the nodes' hit counts, in samples", () => {
  const profile = cpuprofileToProfile({
    nodes: [
      { id: 1, callFrame: { functionName: "(root)", url: "" }, children: [2] },
      {
        id: 2,
        callFrame: { functionName: "main", url: "file:///a.js", lineNumber: 0, columnNumber: 0 },
        hitCount: 3,
        children: [3],
      },
      {
        id: 3,
        callFrame: { functionName: "", url: "file:///a.js", lineNumber: 4, columnNumber: 2 },
        hitCount: 2,
      },
    ],
  }, "t");
  assert.equal(profile.unit, "samples");
  assert.deepEqual([...profile.stacks], [
    ["main /a.js:1:1", 3],
    ["main /a.js:1:1;(anonymous) /a.js:5:3", 2],
  ]);
});

async function readJson(text: string) {
  const input = await formatInputFrom({
    name: "x.cpuprofile",
    readable: new Blob([text]).stream(),
  });
  return readFormatInput(input, { from: "cpuprofile" });
}

Deno.test("cpuprofile: malformed profiles are one line of error", async () => {
  const node = (id: number, children?: number[]) => ({
    id,
    callFrame: { functionName: `f${id}`, url: "" },
    children,
  });
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{nodes: [", /not valid JSON/],
    ["no nodes", "{}", /no 'nodes' array/],
    ["unknown child", JSON.stringify({ nodes: [node(1, [9])] }), /unknown child 9/],
    [
      "cycle",
      JSON.stringify({
        nodes: [node(1, [2]), node(2, [3]), node(3, [2])],
        samples: [3],
        timeDeltas: [1],
      }),
      /two parents|cycle/,
    ],
    [
      "deltas",
      JSON.stringify({ nodes: [node(1)], samples: [1, 1], timeDeltas: [1] }),
      /2 samples but 1 time deltas/,
    ],
    [
      "unknown sample",
      JSON.stringify({ nodes: [node(1)], samples: [7], timeDeltas: [1] }),
      /unknown node 7/,
    ],
    ["repeated id", JSON.stringify({ nodes: [node(1), node(1)] }), /appears twice/],
  ];
  for (const [what, text, message] of cases) {
    await assert.rejects(readJson(text), (err: Error) => {
      assert.ok(err instanceof FlameError, what);
      assert.match(err.message, /^x\.cpuprofile: /, what);
      assert.match(err.message, message, what);
      assert.ok(!err.message.includes("\n"), what);
      return true;
    });
  }
});

Deno.test("cpuprofile: a 100,000-deep chain is read in linear time", async () => {
  const n = 100_000;
  const nodes = Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    callFrame: { functionName: `f${i % 7}`, url: "" },
    children: i + 1 < n ? [i + 2] : [],
  }));
  const text = JSON.stringify({ nodes, samples: [n, n, 2], timeDeltas: [10, 10, 10] });
  const started = performance.now();
  await assert.rejects(readJson(text), /too deep/); // 100k frames × 100k... bounded, not hung
  assert.ok(performance.now() - started < 30_000);
});
