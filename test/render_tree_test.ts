import assert from "node:assert/strict";
import type { FoldedLine } from "../src/folded/parse.ts";
import { buildTree, compareStacks, decimalsOf, type FrameTree } from "../src/render/tree.ts";

function lines(...specs: [string, number][]): FoldedLine[] {
  return specs.map(([stack, count]) => ({ stack, count }));
}

/** Every frame's name, in tree order. */
function names(t: FrameTree): string[] {
  return Array.from({ length: t.size }, (_, i) => t.name(i));
}

/** The tree as readable rows: depth-indented "name start+width". */
function rows(t: FrameTree): string[] {
  return names(t).map((n, i) => `${"  ".repeat(t.depth[i])}${n} ${t.start[i]}+${t.width[i]}`);
}

Deno.test("merges shared prefixes in pre-order with positions in counts", () => {
  const t = buildTree(lines(["a;b;c", 2], ["a;b", 1], ["a;d", 3], ["e", 4]));
  assert.deepEqual(rows(t), [
    "all 0+10",
    "  a 0+6",
    "    b 0+3",
    "      c 1+2",
    "    d 3+3",
    "  e 6+4",
  ]);
  assert.equal(t.total, 10);
  assert.equal(t.maxDepth, 3);
  // end = index just past the subtree
  assert.deepEqual([...t.end], [6, 5, 4, 4, 5, 6]);
});

Deno.test("unsorted and repeated lines give the same tree as sorted ones", () => {
  const sorted = buildTree(lines(["a;b", 1], ["a;c", 2], ["b", 3]));
  const shuffled = buildTree(lines(["b", 1], ["a;c", 2], ["a;b", 1], ["b", 2]));
  assert.deepEqual(rows(shuffled), rows(sorted));
});

Deno.test("a name that extends a sibling's never splits a function in two", () => {
  // Character order puts "f.cold;x" and "read12" between "f" and "f;y".
  const t = buildTree(
    lines(["m;f", 1], ["m;f.cold;x", 1], ["m;f;y", 1], ["m;read1;a", 1], ["m;read12;b", 1]),
  );
  const depth2 = names(t).filter((_, i) => t.depth[i] === 2);
  assert.equal(depth2.filter((n) => n === "f").length, 1);
  assert.equal(depth2.filter((n) => n === "read1").length, 1);
  const f = names(t).findIndex((n, i) => n === "f" && t.depth[i] === 2);
  assert.equal(t.width[f], 2); // self 1 + y 1
});

Deno.test("compareStacks reads a stack as if it ended with ';'", () => {
  assert.equal(compareStacks("a", "a"), 0);
  assert.equal(compareStacks("a", "b"), -1);
  assert.equal(compareStacks("f", "f;g"), -1);
  assert.equal(compareStacks("f", "f.cold"), 1); // "f;" > "f.cold"
  assert.equal(compareStacks("f.cold", "f"), -1);
  assert.equal(compareStacks("f", "fa"), -1); // "f;" < "fa"
  const xs = ["m;read1;a", "m;read1", "m;read12", "m;read1;b"].sort(compareStacks);
  assert.deepEqual(xs, ["m;read12", "m;read1", "m;read1;a", "m;read1;b"]);
});

Deno.test("flamechart keeps input order and merges only neighbours", () => {
  const t = buildTree(lines(["a;b", 1], ["a;c", 1], ["a;b", 2], ["x", 1], ["a", 1]), {
    flamechart: true,
  });
  assert.deepEqual(rows(t), [
    "all 0+6",
    "  a 0+4",
    "    b 0+1",
    "    c 1+1",
    "    b 2+2",
    "  x 4+1",
    "  a 5+1",
  ]);
});

Deno.test("reverse merges from the leaf", () => {
  const t = buildTree(lines(["main;a;leaf", 2], ["main;b;leaf", 3]), { reverse: true });
  assert.deepEqual(rows(t), [
    "all 0+5",
    "  leaf 0+5",
    "    a 0+2",
    "      main 0+2",
    "    b 2+3",
    "      main 2+3",
  ]);
});

Deno.test("fractional counts are kept exactly, in units of a power of ten", () => {
  const t = buildTree(lines(["a", 1.25], ["b", 0.5]));
  assert.equal(t.pow10, 100);
  assert.equal(t.gcd, 25); // 125 and 50 units share 25
  assert.equal(t.scale, 4);
  assert.equal(t.total, 7);
  assert.deepEqual([...t.width], [7, 5, 2]);
  assert.equal(decimalsOf(3), 0);
  assert.equal(decimalsOf(0.1), 1);
  assert.equal(decimalsOf(2.125), 3);
});

Deno.test("differential lines: width from AFTER, self delta on the leaf", () => {
  const t = buildTree([
    { stack: "m;a", before: 10, count: 30 },
    { stack: "m;b", before: 20, count: 5 },
    { stack: "m", before: 1, count: 1 },
  ]);
  assert.ok(t.delta);
  const at = (name: string) => names(t).indexOf(name);
  assert.equal(t.width[at("m")], 36);
  assert.equal(t.delta[at("a")], 20);
  assert.equal(t.delta[at("b")], -15);
  assert.equal(t.delta[at("m")], 0);
});

Deno.test("counts with a common divisor (fixed perf periods) become small units", () => {
  const t = buildTree(lines(["a", 250_000], ["b", 750_000], ["a;c", 1_000_000]));
  assert.equal(t.gcd, 250_000);
  assert.equal(t.pow10, 1);
  assert.deepEqual([...t.width], [8, 5, 4, 3]);
  assert.equal(t.total * t.gcd, 2_000_000);
});

Deno.test("lines without a positive count are skipped; no lines gives an empty tree", () => {
  assert.equal(buildTree(lines(["a", 0], ["b", 2])).size, 2);
  const empty = buildTree([]);
  assert.equal(empty.total, 0);
  assert.equal(empty.size, 1);
});

Deno.test("empty frames and a trailing ';' are frames with empty names", () => {
  const t = buildTree(lines(["a;;b", 1], ["a;", 1]));
  assert.deepEqual(rows(t), ["all 0+2", "  a 0+2", "     0+2", "      b 1+1"]);
});

Deno.test("random stacks: one frame per call path, widths are sums, children inside parents", () => {
  const pool = ["a", "a.b", "a0", "ab", "a b", "b", "b;", "", "f", "f.cold", "f2", "é", "z"];
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const input: FoldedLine[] = [];
    const n = 1 + rand(30);
    for (let i = 0; i < n; i++) {
      const depth = 1 + rand(5);
      const frames = Array.from({ length: depth }, () => pool[rand(pool.length)]);
      input.push({ stack: frames.join(";"), count: 1 + rand(9) });
    }
    const t = buildTree(input, { reverse: round % 5 === 0 });
    const stacks = input.map((l) =>
      round % 5 === 0 ? l.stack.split(";").reverse().join(";") : l.stack
    );
    // Expected width of every call path (frames joined by ";" are unambiguous here because a
    // name "b;" splits into "b" and "" exactly as the stack does).
    const want = new Map<string, number>();
    stacks.forEach((s, i) => {
      const frames = s.split(";");
      for (let d = 1; d <= frames.length; d++) {
        const key = frames.slice(0, d).join(";");
        want.set(key, (want.get(key) ?? 0) + input[i].count);
      }
    });
    const path: string[] = [];
    const got = new Map<string, number>();
    const all = names(t);
    for (let i = 1; i < t.size; i++) {
      path.length = t.depth[i] - 1;
      path.push(all[i]);
      const key = path.join(";");
      assert.ok(!got.has(key), `round ${round}: ${JSON.stringify(key)} split in two`);
      got.set(key, t.width[i] * t.gcd);
      const parent = all.findLastIndex((_, j) => j < i && t.depth[j] === t.depth[i] - 1);
      assert.ok(t.start[i] >= t.start[parent]);
      assert.ok(t.start[i] + t.width[i] <= t.start[parent] + t.width[parent]);
    }
    assert.deepEqual(new Map([...got].sort()), new Map([...want].sort()), `round ${round}`);
  }
});
