import assert from "node:assert/strict";
import { compactScript, embeddedModule } from "../scripts/embed.ts";
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

Deno.test("compaction drops comments and indentation only", () => {
  assert.equal(
    compactScript("  // note\n  let a = 1; // keep\n\n    a++;\n"),
    "let a = 1; // keep\na++;",
  );
});
