import assert from "node:assert/strict";
import { compactScript, embeddedModule, shortNames } from "../scripts/embed.ts";
import { BROWSER_SCRIPT } from "../src/render/browser_script.ts";

const SOURCE = new URL("../src/render/browser/flamegraph.js", import.meta.url);
const TARGET = new URL("../src/render/browser_script.ts", import.meta.url);

Deno.test("the embedded browser script is up to date (run scripts/embed.ts)", async () => {
  const wanted = await embeddedModule(await Deno.readTextFile(SOURCE));
  assert.equal(
    await Deno.readTextFile(TARGET),
    wanted,
    "src/render/browser_script.ts is stale: run deno run -A scripts/embed.ts",
  );
});

Deno.test("the embedded script parses and cannot close its CDATA section", () => {
  assert.doesNotThrow(() => new Function(BROWSER_SCRIPT));
  assert.ok(!BROWSER_SCRIPT.includes("]]>"));
  assert.throws(() => compactScript("const x = ']]>';"), /must not contain/);
});

Deno.test("compaction drops comments and spaces, keeps strings and regular expressions", () => {
  const src = [
    "// a comment",
    'const label = "a // b  c"; /* block */',
    "const re = /[/ ]+\\//g;",
    "let total = label.length + +re.source.length - -1;",
    "return typeof total;",
  ].join("\n");
  const out = compactScript(src);
  assert.ok(out.includes('"a // b  c"'), out);
  assert.ok(out.includes("/[/ ]+\\//g"), out);
  assert.ok(out.includes("+ +") && out.includes("- -"), out);
  assert.ok(out.includes("return typeof"), out);
  assert.ok(!out.includes("comment") && !out.includes("block"), out);
});

Deno.test("compaction shortens the script's own names, never properties, keys or globals", () => {
  const src = [
    "const state = { total: 1, depth: 2 };",
    "const depthOf = function (frame) { return frame.depth + state.total; };",
    "let counter = depthOf({ depth: 3 });",
    "document.title = 'counter ' + counter;",
    "return [counter, document.title, state.depth, typeof depthOf];",
  ].join("\n");
  const names = shortNames(src);
  assert.ok(names.has("depthOf") && names.has("counter") && names.has("state"));
  assert.ok(!names.has("depth") && !names.has("total") && !names.has("document"));
  const out = compactScript(src);
  assert.ok(!out.includes("depthOf") && out.includes("{total:1,depth:2}"), out);
  assert.ok(out.includes("'counter '"), out);
  // It computes the same.
  const run = (code: string) => new Function("document", code)({});
  assert.deepEqual(run(out), run(src));
  assert.deepEqual(run(src), [4, "counter 4", 2, "function"]);
  assert.throws(() => compactScript("const x = `t`;"), /template literals/);
  // Hundreds of names: none of the short ones is a keyword.
  const many = Array.from({ length: 700 }, (_, i) => `const name${i} = ${i};`).join("\n");
  const shortened = [...shortNames(many).values()];
  for (const k of ["do", "if", "in", "for", "let", "new", "try", "var"]) {
    assert.ok(!shortened.includes(k), k);
  }
  assert.doesNotThrow(() => new Function(compactScript(many)));
});
