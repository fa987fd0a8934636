import assert from "node:assert/strict";
import { FoldedLineSink, smallEntriesFrame, TreeSink } from "../src/files/sinks.ts";
import type { WalkSink } from "../src/files/walk.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A directory tree for feeding sinks: a number is a file's value, an object a directory. */
type Tree = { [name: string]: number | [number, Tree] };

/** Feeds `tree` (under a root directory `name` worth `value`) to `sink` as a walk would. */
function feed(sink: WalkSink, name: string, value: number, tree: Tree): void {
  const n = utf8(name);
  sink.enter(n, 0, n.length, value);
  for (const [child, v] of Object.entries(tree)) {
    if (typeof v === "number") {
      // Pad the name inside a larger buffer, as the walk's getdents buffer does.
      const b = utf8(`..${child}..`);
      sink.entry(b, 2, b.length - 2, v);
    } else feed(sink, child, v[0], v[1]);
  }
  sink.leave();
}

function foldedText(tree: Tree, blockSize: number): string {
  const chunks: string[] = [];
  const sink = new FoldedLineSink(
    { write: (b) => chunks.push(new TextDecoder().decode(b)) },
    blockSize,
  );
  feed(sink, "root", 4096, tree);
  sink.flush();
  return chunks.join("");
}

function sum(stacks: Map<string, number>): number {
  let total = 0;
  for (const v of stacks.values()) total += v;
  return total;
}

const SAMPLE: Tree = {
  "a.txt": 10,
  "semi;colon": 3,
  "bad\nname": 0,
  sub: [4096, { "b.bin": 2000, deeper: [4096, { "c": 7 }] }],
  empty: [4096, {}],
};

Deno.test("FoldedLineSink: one line per entry, directories with their own value", () => {
  assert.equal(
    foldedText(SAMPLE, 1 << 16),
    [
      "root 4096",
      "root;a.txt 10",
      "root;semi\u037ecolon 3",
      "root;bad\u240aname 0",
      "root;sub 4096",
      "root;sub;b.bin 2000",
      "root;sub;deeper 4096",
      "root;sub;deeper;c 7",
      "root;empty 4096",
      "",
    ].join("\n"),
  );
});

Deno.test("FoldedLineSink: small blocks and long paths give the same bytes", () => {
  const long = "x".repeat(300);
  const deep: Tree = { [long]: [1, { [long]: [2, { [long + ";"]: 3, z: 4 }] }], ...SAMPLE };
  const reference = foldedText(deep, 1 << 20);
  for (const size of [16, 64, 1000]) assert.equal(foldedText(deep, size), reference, `${size}`);
  assert.ok(reference.includes(`root;${long};${long};${long}\u037e 3\n`));
});

Deno.test("TreeSink: exact below the node limit, the same stacks as the folded lines", () => {
  const tree = new TreeSink(0.01);
  feed(tree, "root", 4096, SAMPLE);
  const lines = new Map(
    foldedText(SAMPLE, 1 << 16).trim().split("\n").map((l) => {
      const at = l.lastIndexOf(" ");
      return [l.slice(0, at), Number(l.slice(at + 1))] as [string, number];
    }),
  );
  assert.deepEqual(tree.stacks(), lines);
  assert.equal(tree.total, sum(lines));
  assert.equal(tree.nodeCount, 9); // 5 files, 4 directories (the root included)
});

/** A root with `small` files of value 1 in a subdirectory and a few big files. */
function bigTree(small: number): Tree {
  const many: Tree = {};
  for (let i = 0; i < small; i++) many[`f${i}`] = 1;
  return {
    big1: 1_000_000,
    big2: 2_000_000,
    many: [4096, many],
    tiny: [10, { t1: 1, t2: 1 }],
  };
}

Deno.test("TreeSink: over the limit, small entries fold into one frame per directory", () => {
  const sink = new TreeSink(1e-3, 100);
  feed(sink, "root", 4096, bigTree(5000));
  const stacks = sink.stacks();
  const total = 4096 + 1_000_000 + 2_000_000 + 4096 + 5000 + 10 + 2;
  assert.equal(sum(stacks), total, "widths are unchanged");
  assert.equal(sink.total, total);
  assert.equal(stacks.get("root;big1"), 1_000_000);
  assert.equal(stacks.get("root;big2"), 2_000_000);
  // Every f* was folded: one frame with their count and sum.
  assert.equal(stacks.get("root;many;(5,000 small entries)"), 5000);
  assert.ok(![...stacks.keys()].some((k) => k.startsWith("root;many;f")));
  // The small subtree folded whole into its parent (3 entries: itself and two files).
  assert.equal(stacks.get("root;(3 small entries)"), 12);
  assert.ok(sink.nodeCount <= 100, `${sink.nodeCount} nodes held`);
});

Deno.test("TreeSink: memory stays bounded on a huge flat directory", () => {
  const sink = new TreeSink(1e-4, 1000);
  const n = utf8("root");
  sink.enter(n, 0, n.length, 0);
  for (let i = 0; i < 200_000; i++) {
    const name = utf8(`file-${i}`);
    sink.entry(name, 0, name.length, 1 + (i % 7));
  }
  sink.leave();
  assert.ok(sink.nodeCount <= 1000, `${sink.nodeCount} nodes held`);
  assert.equal(sum(sink.stacks()), sink.total);
});

Deno.test("TreeSink: a DIR keeps its frame however small", () => {
  const sink = new TreeSink(0.1, 2);
  feed(sink, "big", 0, { a: 1_000_000, b: 1_000_000, c: 1_000_000 });
  feed(sink, "small", 1, { x: 1 });
  const stacks = sink.stacks();
  assert.ok([...stacks.keys()].some((k) => k === "small" || k.startsWith("small;")));
  assert.equal(sum(stacks), 3_000_002);
});

Deno.test("TreeSink: without a minimum width nothing is folded, whatever the limit", () => {
  const sink = new TreeSink(0, 10);
  feed(sink, "root", 4096, bigTree(500));
  const stacks = sink.stacks();
  assert.equal(stacks.get("root;many;f499"), 1);
  assert.equal(stacks.size, 1 + 2 + 1 + 500 + 1 + 2);
});

Deno.test("smallEntriesFrame: a label no real name can take when one already has it", () => {
  assert.equal(smallEntriesFrame(1, () => false), "(1 small entry)");
  assert.equal(smallEntriesFrame(1234, () => false), "(1,234 small entries)");
  assert.equal(smallEntriesFrame(2, (f) => f === "(2 small entries)"), "(2 small entries) /");
});
