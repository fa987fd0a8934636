import assert from "node:assert/strict";
import {
  type FoldedLine,
  type FoldedReadStats,
  readFolded,
  readFoldedInto,
  readFoldedSync,
} from "../src/folded/parse.ts";
import { type Input, openInput } from "../src/io/input.ts";
import { buildTree, StackColumns } from "../src/render/tree.ts";
import { withTempDir } from "./helpers.ts";

/**
 * Every case the reader tells apart, each on its own line (the last without a newline), after a
 * byte order mark (dropped).
 */
const TEXT = [
  "\ufeffmain;é;😀 3",
  "main;x 5\r",
  "# comment 12",
  "",
  "   ",
  "not folded",
  "main;y 2 7",
  " 5",
  "main;z 1.5",
  "main;w 1.2.3",
  `main;huge ${"9".repeat(400)}`,
  "last 4",
].join("\n");

const LINES: FoldedLine[] = [
  { stack: "main;é;😀", count: 3 },
  { stack: "main;x", count: 5 },
  { stack: "main;y", count: 7, before: 2 },
  { stack: "main;z", count: 1.5 },
  { stack: "last", count: 4 },
];

const STATS: FoldedReadStats = {
  lines: 12,
  invalid: 4,
  firstInvalidLine: 6,
  differential: true,
  tooLong: 0,
  tooLarge: 1,
};

/** An input whose stream (not a byte stream) hands out `bytes` in chunks of `size`. */
function chunked(bytes: Uint8Array, size: number): Input {
  let at = 0;
  const readable = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
  return { name: "test", readable };
}

Deno.test("lines read alike however the input is cut (characters and CRLF split too)", async () => {
  const bytes = new TextEncoder().encode(TEXT);
  for (const size of [1, 2, 3, 5, 7, 64, bytes.length]) {
    const lines: FoldedLine[] = [];
    const stats = await readFolded(chunked(bytes, size), (l) => lines.push(l));
    assert.deepEqual(lines, LINES, `chunks of ${size}`);
    assert.deepEqual(stats, STATS, `chunks of ${size}`);
  }
});

Deno.test("a file is read in blocks: a character, a line and a CRLF straddle them", async () => {
  // Blocks are 256 KiB: the emoji's 4 bytes straddle the first boundary, the "\r\n" the second.
  const first = "x".repeat(262142) + "😀 1\n";
  const second = "y".repeat(524287 - 2 - new TextEncoder().encode(first).length) + " 2\r\n";
  const text = first + second + "z;w 3";
  const want = [["x".repeat(262142) + "😀", "y".repeat(second.length - 4), "z;w"], [1, 2, 3]];
  await withTempDir(async (dir) => {
    const path = `${dir}/big.folded`;
    await Deno.writeTextFile(path, text);
    assert.equal(new TextEncoder().encode(text).indexOf(13), 524287);
    const sync = new StackColumns();
    using file = Deno.openSync(path);
    assert.equal(readFoldedSync(file, sync).lines, 3);
    assert.deepEqual([sync.stacks, sync.counts], want);
    const streamed = new StackColumns();
    await readFoldedInto(await openInput(path), streamed);
    assert.deepEqual([streamed.stacks, streamed.counts], want);
  });
});

Deno.test("columns keep what the tree needs and notice unsorted input", async () => {
  const columns = new StackColumns();
  const stats = await readFoldedInto(chunked(new TextEncoder().encode(TEXT), 7), columns);
  assert.equal(stats.lines, STATS.lines);
  assert.equal(columns.lines, 5);
  assert.deepEqual(columns.stacks, LINES.map((l) => l.stack));
  assert.deepEqual(columns.befores, [0, 0, 2, 0, 0], "lines before the first BEFORE count get 0");
  assert.equal(columns.maxDecimals, 1);
  assert.equal(columns.sorted, false, '"last" sorts before "main;z"');
  const sorted = new StackColumns();
  for (const [stack, count] of [["a.c", 1], ["a", 1], ["a;b", 2], ["b", 0]] as const) {
    sorted.add(stack, count, undefined);
  }
  assert.equal(sorted.sorted, true, '"a" sorts as "a;", after "a.c"');
  assert.equal(sorted.lines, 4);
  assert.deepEqual(sorted.stacks, ["a.c", "a", "a;b"], "no positive count: left out");
});

Deno.test("columns and line objects make the same tree", () => {
  const lines: FoldedLine[] = [
    { stack: "m;b;x", count: 2 },
    { stack: "m;a", count: 3, before: 1 },
    { stack: "m;b", count: 1 },
    { stack: "m;a", count: 4 },
  ];
  const columns = new StackColumns();
  for (const l of lines) columns.add(l.stack, l.count, l.before);
  for (const opts of [{}, { reverse: true }, { flamechart: true }]) {
    const a = buildTree(lines, opts);
    const b = buildTree(columns, opts);
    const names = (t: typeof a) => Array.from({ length: t.size }, (_, i) => t.name(i));
    assert.deepEqual(names(b), names(a));
    assert.deepEqual([b.start, b.width, b.end, b.delta], [a.start, a.width, a.end, a.delta]);
  }
});
