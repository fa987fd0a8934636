import assert from "node:assert/strict";
import { layoutFrames, minWidthUnits } from "../src/render/layout.ts";
import { buildTree } from "../src/render/tree.ts";

Deno.test("minimum width: pixels of the frame area, or a percentage of the root", () => {
  assert.equal(minWidthUnits(0.1, 1180, 1180), 0.1);
  assert.equal(minWidthUnits(1, 10_000, 1000), 10);
  assert.equal(minWidthUnits("1%", 10_000, 1000), 100);
  assert.equal(minWidthUnits("0.5%", 200, 1000), 1);
});

Deno.test("narrow frames and their subtrees are dropped and counted", () => {
  const tree = buildTree([
    { stack: "main;big;deep", count: 91 },
    { stack: "main;small;deeper;deepest", count: 2 },
    { stack: "main;other", count: 8 },
  ]);
  const layout = layoutFrames(tree, tree.total, 5);
  const names = layout.frames.map((f) => f.name);
  assert.deepEqual(names, ["all", "main", "big", "deep", "other"]);
  assert.equal(layout.dropped, 3); // small, deeper, deepest
  assert.equal(layout.maxDepth, 3);
});

Deno.test("maximum depth is recomputed after pruning", () => {
  const tree = buildTree([
    { stack: "a;b", count: 99 },
    { stack: "a;c;d;e;f;g", count: 1 },
  ]);
  assert.equal(tree.maxDepth, 6);
  assert.equal(layoutFrames(tree, tree.total, 2).maxDepth, 2);
  assert.equal(layoutFrames(tree, tree.total, 0).maxDepth, 6);
});

Deno.test("adjacent dropped siblings that add up to the minimum become one hidden bar", () => {
  const stacks = [{ stack: "main;work", count: 50 }];
  for (let i = 0; i < 20; i++) {
    stacks.push({ stack: `main;tiny${String(i).padStart(2, "0")}`, count: 1 });
  }
  const tree = buildTree(stacks);
  const layout = layoutFrames(tree, tree.total, 2);
  const bars = layout.frames.filter((f) => f.hidden > 0);
  assert.equal(bars.length, 1);
  assert.equal(bars[0].hidden, 20);
  assert.equal(bars[0].width, 20);
  assert.equal(bars[0].depth, 2);
  assert.equal(layout.dropped, 20);
  // The bar sits where the tiny frames were: before "work", as "tiny" sorts first.
  const work = layout.frames.find((f) => f.name === "work")!;
  assert.equal(bars[0].start, 0);
  assert.equal(work.start, 20);
});

Deno.test("a lone dropped frame, or a run still under the minimum, gets no bar", () => {
  const tree = buildTree([
    { stack: "main;a", count: 100 },
    { stack: "main;b", count: 1 },
    { stack: "main;c", count: 100 },
    { stack: "main;d", count: 1 },
  ]);
  const layout = layoutFrames(tree, tree.total, 3);
  assert.equal(layout.frames.filter((f) => f.hidden > 0).length, 0);
  assert.equal(layout.dropped, 2);
});

Deno.test("the root takes the --total width when it is larger", () => {
  const tree = buildTree([{ stack: "a", count: 10 }, { stack: "b", count: 1 }]);
  const layout = layoutFrames(tree, 40, 0);
  assert.equal(layout.frames[0].width, 40);
  assert.equal(layout.frames[1].width, 10);
});
