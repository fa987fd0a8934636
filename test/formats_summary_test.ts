/**
 * The summary: self and total per function (total once per stack under recursion), its text
 * table (hostile names made harmless for a terminal) and its JSON.
 */
import assert from "node:assert/strict";
import { encodeProfile, writerByName } from "../src/formats/registry.ts";
import { formatDuration, summarize, summaryText } from "../src/formats/summary.ts";
import { emptyProfile, type Profile } from "../src/profile/profile.ts";

function profileOf(stacks: [string, number][], unit: Profile["unit"] = "samples"): Profile {
  const p = emptyProfile(unit, { name: "test" });
  for (const [k, w] of stacks) p.stacks.set(k, w);
  return p;
}

Deno.test("summary: self and total, recursion counted once per stack", () => {
  const p = profileOf([
    ["main;fib;fib;fib", 6],
    ["main;fib", 2],
    ["main;io", 2],
  ]);
  const s = summarize(p);
  assert.equal(s.total, 10);
  assert.equal(s.stacks, 3);
  assert.equal(s.functions, 3);
  const fib = s.byTotal.find((f) => f.name === "fib")!;
  assert.equal(fib.total, 8); // not 6*3 + 2
  assert.equal(fib.self, 8);
  assert.equal(fib.totalPercent, 80);
  assert.deepEqual(s.bySelf.map((f) => [f.name, f.self]), [["fib", 8], ["io", 2]]);
  assert.deepEqual(s.byTotal.map((f) => [f.name, f.total]), [["main", 10], ["fib", 8], ["io", 2]]);
  assert.equal(s.byTotal[0].totalPercent, 100);
});

Deno.test("summary: --top limits each table; ties ordered by name", () => {
  const p = profileOf([["a", 1], ["b", 1], ["c", 1]]);
  assert.deepEqual(summarize(p, 2).bySelf.map((f) => f.name), ["a", "b"]);
});

Deno.test("summary text: units shown as time or bytes; control characters escaped", () => {
  const ns = profileOf([["main;\x1b[31mevil\x07", 1_500_000], ["main", 500_000]], "nanoseconds");
  const text = summaryText(summarize(ns));
  assert.match(text, /^test: 2\.00 ms in 2 stacks, 2 functions/);
  assert.match(text, /1\.50 ms\s+75\.00%\s+1\.50 ms\s+75\.00%\s+\\x1b\[31mevil\\x07/);
  assert.ok(!text.includes("\x1b"), "no raw escape reaches the terminal");
  const bytes = summaryText(summarize(profileOf([["alloc", 3 * 1024 * 1024]], "bytes")));
  assert.match(bytes, /3\.00 MiB/);
  const rlo = summaryText(summarize(profileOf([["a\u202eb", 1]], "samples")));
  assert.ok(rlo.includes("a\\u202eb") && !rlo.includes("\u202e"), rlo);
  assert.equal(formatDuration(850), "850 ns");
  assert.equal(formatDuration(2.5e9), "2.50 s");
});

Deno.test("summary json: the writer's output parses to the same summary", async () => {
  const p = profileOf([["main;work", 3], ["main", 1]]);
  p.frames.set("work", { kind: "python", file: "w.py", line: 4 });
  const { bytes } = await encodeProfile(p, writerByName("json"), { top: 5 });
  const json = JSON.parse(new TextDecoder().decode(bytes));
  assert.deepEqual(json, JSON.parse(JSON.stringify(summarize(p, 5))));
  assert.deepEqual(json.bySelf[0], {
    name: "work",
    kind: "python",
    file: "w.py",
    line: 4,
    self: 3,
    total: 3,
    selfPercent: 75,
    totalPercent: 75,
  });
});
