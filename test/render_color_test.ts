import assert from "node:assert/strict";
import {
  Colorizer,
  diffColor,
  familyFor,
  formatPaletteMap,
  frameColor,
  hex,
  parseColor,
  parsePaletteMap,
  type Rgb,
  stableValues,
  weightedNameHash,
} from "../src/render/color.ts";
import { PALETTES } from "../src/render/mod.ts";

Deno.test("default colours are stable per function name", () => {
  assert.deepEqual(stableValues("main"), stableValues("main"));
  assert.notDeepEqual(stableValues("main"), stableValues("mainx"));
  const a = new Colorizer("hot", "stable");
  const b = new Colorizer("hot", "stable");
  // Another graph, other names drawn first: "parse" keeps its colour.
  b.color("zzz");
  b.color("other");
  assert.equal(a.color("parse"), b.color("parse"));
  for (const v of stableValues("anything")) assert.ok(v >= 0 && v < 1);
});

Deno.test("names spread over the palette", () => {
  const c = new Colorizer("hot", "stable");
  const colors = new Set(Array.from({ length: 200 }, (_, i) => c.color(`fn_${i}`)));
  assert.ok(colors.size > 190, `${colors.size} distinct colours of 200`);
});

Deno.test("hot colours stay red-orange-yellow", () => {
  for (let i = 0; i < 100; i++) {
    const [r, g, b] = frameColor(`f${i}`, "hot", "stable");
    assert.ok(r >= 205 && r <= 255 && g <= 230 && b <= 55, `${r},${g},${b}`);
  }
});

Deno.test("every palette gives valid colours", () => {
  for (const p of PALETTES) {
    for (const name of ["main", "java/lang/Thread.run", "foo_[k]", "std::vec", "x.js:1"]) {
      const rgb = frameColor(name, p, "stable");
      assert.match(hex(rgb), /^#[0-9a-f]{6}$/, `${p} ${name}`);
    }
  }
});

Deno.test("semantic palettes pick families by name", () => {
  assert.equal(familyFor("java", "java/util/HashMap.get"), "green");
  assert.equal(familyFor("java", "Interpreter_[j]"), "green");
  assert.equal(familyFor("java", "do_syscall_64_[k]"), "orange");
  assert.equal(familyFor("java", "JVM::foo"), "yellow");
  assert.equal(familyFor("java", "malloc"), "red");
  assert.equal(familyFor("js", "node_modules/express/lib/router.js:10"), "purple");
  assert.equal(familyFor("js", "/app/server.js:12"), "green");
  // The names flame's captures give V8's frames.
  assert.equal(familyFor("js", "fib (server.js:12)"), "green");
  assert.equal(familyFor("js", "handle (express/lib/router/layer.js:86)"), "purple");
  assert.equal(familyFor("js", "(anonymous) (node:internal/main/run_main_module:1)"), "aqua");
  assert.equal(familyFor("perl", "Foo::bar"), "yellow");
  assert.equal(familyFor("python", "py::main:/app/x.py"), "green");
  assert.equal(familyFor("python", "/usr/lib/python3.13/json/decoder.py"), "yellow");
  assert.equal(familyFor("python", "py::get:/venv/lib/site-packages/requests/api.py"), "aqua");
  assert.equal(familyFor("python", "_PyEval_EvalFrameDefault"), "red");
  assert.equal(familyFor("rust", "core::ptr::drop_in_place"), "orange");
  assert.equal(familyFor("rust", "myapp::run"), "aqua");
  assert.equal(familyFor("rust", "main"), "yellow");
  assert.equal(familyFor("chain", "waker_[w]"), "aqua");
  assert.equal(familyFor("wakeup", "x"), "aqua");
});

Deno.test("stack separators are grey", () => {
  assert.deepEqual(frameColor("--", "hot", "stable"), [160, 160, 160]);
  assert.deepEqual(frameColor("-", "hot", "stable"), [200, 200, 200]);
});

Deno.test("--hash: similar names get similar values, deterministically", () => {
  const a = weightedNameHash("ext4_readpage");
  assert.equal(a, weightedNameHash("ext4_readpage"));
  assert.ok(a >= 0 && a <= 1);
  assert.ok(Math.abs(a - weightedNameHash("ext4_writepage")) < 0.01);
  assert.equal(weightedNameHash("mod`ext4_x"), weightedNameHash("ext4_y"));
  const c = new Colorizer("hot", "hash");
  assert.equal(c.color("abc"), new Colorizer("hot", "hash").color("abc"));
});

Deno.test("differential: red grew, blue shrank, white unchanged, --negate swaps", () => {
  assert.deepEqual(diffColor(10, 10), [255, 0, 0]);
  assert.deepEqual(diffColor(-10, 10), [0, 0, 255]);
  assert.deepEqual(diffColor(0, 10), [255, 255, 255]);
  assert.deepEqual(diffColor(5, 10), [255, 105, 105]);
  assert.deepEqual(diffColor(10, 10, true), [0, 0, 255]);
  assert.deepEqual(diffColor(3, 0), [255, 255, 255]);
});

Deno.test("palette.map: parse, format, reuse and extend", () => {
  const map = parsePaletteMap("main->rgb(1,2,3)\nbad line\nf->x->rgb(4,5,6)\r\n");
  assert.deepEqual(map.get("main"), [1, 2, 3]);
  assert.deepEqual(map.get("f->x"), [4, 5, 6]);
  const c = new Colorizer("hot", "stable", map);
  assert.equal(c.color("main"), "#010203");
  c.color("new");
  assert.ok(map.has("new"));
  const text = formatPaletteMap(map);
  assert.match(text, /^f->x->rgb\(4,5,6\)\nmain->rgb\(1,2,3\)\nnew->rgb\(\d+,\d+,\d+\)\n$/);
});

Deno.test("colour text forms", () => {
  assert.equal(hex([255, 0, 16]), "#ff0010");
  assert.equal(hex([300, -4, 15.6]), "#ff0010");
  assert.deepEqual(parseColor("#ff0010"), [255, 0, 16] as Rgb);
  assert.deepEqual(parseColor("rgb(1, 2, 3)"), [1, 2, 3] as Rgb);
  assert.equal(parseColor("red"), undefined);
});
