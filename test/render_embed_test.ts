import assert from "node:assert/strict";
import { embeddedModule, minifyScript } from "../scripts/embed.ts";
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

Deno.test("the embedded script parses, is minified and cannot close its CDATA section", async () => {
  assert.doesNotThrow(() => new Function(BROWSER_SCRIPT));
  assert.ok(!BROWSER_SCRIPT.includes("]]>"));
  const source = await Deno.readTextFile(SOURCE);
  assert.ok(BROWSER_SCRIPT.length < source.length * 0.5, `${BROWSER_SCRIPT.length} bytes`);
  await assert.rejects(minifyScript("globalThis.x = ']]>';"), /must not contain/);
});

Deno.test("minifying keeps what the script computes", async () => {
  const src = [
    "// a comment",
    "(function () {",
    '  const label = "a // b  c"; /* block */',
    "  const re = /[/ ]+\\//g;",
    "  const state = { total: 1, depth: 2 };",
    "  const depthOf = function (frame) { return frame.depth + state.total; };",
    "  let counter = depthOf({ depth: 3 });",
    "  globalThis.out = [label, re.source, counter, `t${counter}`, state.depth, label.length];",
    "})();",
  ].join("\n");
  const out = await minifyScript(src);
  assert.ok(!out.includes("comment") && !out.includes("block"), out);
  assert.ok(!out.includes("depthOf") && !out.includes("counter"), out);
  const run = (code: string) => {
    const g: Record<string, unknown> = {};
    new Function("globalThis", code)(g);
    return g.out;
  };
  assert.deepEqual(run(out), run(src));
  assert.deepEqual(run(src), ["a // b  c", "[/ ]+\\/", 4, "t4", 2, 9]);
});
