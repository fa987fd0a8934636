import assert from "node:assert/strict";
import {
  frameIdentity,
  pythonFrameLabel,
  shortFileName,
  uniqueFrameNames,
} from "../src/python/names.ts";
import { linetable310Line, lnotabLine, locationTableLine } from "../src/python/linetable.ts";

Deno.test("python names: stdlib and packages by their import path, others by base name", () => {
  const lib = "/root/.pyenv/versions/3.12.1/lib/python3.12";
  assert.equal(shortFileName(`${lib}/multiprocessing/pool.py`), "multiprocessing/pool.py");
  assert.equal(shortFileName(`${lib}/threading.py`), "threading.py");
  assert.equal(shortFileName(`${lib}/site-packages/requests/api.py`), "requests/api.py");
  assert.equal(shortFileName("/usr/lib/python3/dist-packages/apt/cache.py"), "apt/cache.py");
  assert.equal(shortFileName("/usr/lib/python3.11/json/decoder.py"), "json/decoder.py");
  assert.equal(shortFileName("/home/me/app/pool.py"), "pool.py");
  assert.equal(shortFileName("<frozen importlib._bootstrap>"), "<frozen importlib._bootstrap>");
  assert.equal(shortFileName("<string>"), "<string>");
  assert.equal(shortFileName("relative.py"), "relative.py");
});

Deno.test("python names: QUALNAME (file), with a line on request, ';' never splits a stack", () => {
  assert.equal(
    pythonFrameLabel("Pool._handle", "/usr/lib/python3.11/multiprocessing/pool.py"),
    "Pool._handle (multiprocessing/pool.py)",
  );
  assert.equal(pythonFrameLabel("work", "/srv/app/pool.py", 42), "work (pool.py:42)");
  assert.equal(pythonFrameLabel("<module>", "<string>"), "<module> (<string>)");
  assert.equal(pythonFrameLabel("f", "/tmp/a;b.py"), "f (a\u037eb.py)");
  assert.equal(pythonFrameLabel("f", ""), "f");
});

Deno.test("python names: the stdlib's pool.py and the user's pool.py stay apart; colliding user files lengthen", () => {
  const frames = [
    { name: "worker", file: "/usr/lib/python3.11/multiprocessing/pool.py" },
    { name: "worker", file: "/srv/app/pool.py" },
    { name: "load", file: "/srv/app/util.py" },
    { name: "load", file: "/srv/lib/util.py" },
    { name: "load", file: "/srv/lib/util.py", line: 7 },
    { name: "other", file: "/srv/app/util.py" },
  ];
  const names = uniqueFrameNames(frames);
  const name = (i: number) => names.get(frameIdentity(frames[i]));
  assert.equal(name(0), "worker (multiprocessing/pool.py)");
  assert.equal(name(1), "worker (pool.py)");
  assert.equal(name(2), "load (app/util.py)");
  assert.equal(name(3), "load (lib/util.py)");
  assert.equal(name(4), "load (util.py:7)");
  assert.equal(name(5), "other (util.py)");
  // Files that differ only far up still end up apart (at worst by their full paths).
  const deep = [
    { name: "f", file: "/a/x/y/z.py" },
    { name: "f", file: "/b/x/y/z.py" },
  ];
  const d = uniqueFrameNames(deep);
  assert.notEqual(d.get(frameIdentity(deep[0])), d.get(frameIdentity(deep[1])));
  assert.equal(d.get(frameIdentity(deep[0])), "f (/a/x/y/z.py)");
});

Deno.test("line tables: 3.6-3.9 lnotab, 3.10 linetable, 3.11+ location table", () => {
  // lnotab: (bytecode delta, line delta) pairs; from 3.6 the line delta is signed.
  const lnotab = new Uint8Array([0, 1, 4, 2, 6, 0xff]);
  assert.equal(lnotabLine(lnotab, 10, 0, true), 11);
  assert.equal(lnotabLine(lnotab, 10, 5, true), 13);
  assert.equal(lnotabLine(lnotab, 10, 10, true), 12);
  assert.equal(lnotabLine(lnotab, 10, 10, false), 268, "2.7 deltas are unsigned");
  // 3.10: (range length, signed line delta); -128 means no line.
  const lt = new Uint8Array([4, 1, 6, 2, 2, 0x80, 4, 0xfd]);
  assert.equal(linetable310Line(lt, 20, 0), 21);
  assert.equal(linetable310Line(lt, 20, 5), 23);
  assert.equal(linetable310Line(lt, 20, 11), 20, "a range without a line");
  assert.equal(linetable310Line(lt, 20, 13), 20);
  // 3.11+: entries 1CCCCLLL. Code 13: svarint line delta; 10-12: delta code-10; 0-9: same
  // line; 15: no location; 14: long form.
  const loc = new Uint8Array([
    0x80 | (13 << 3) | 0,
    2, //   1 unit, line +1
    0x80 | (11 << 3) | 1,
    0,
    0, // 2 units, line +1, two column bytes
    0x80 | (0 << 3) | 0,
    5, //    1 unit, same line, one column byte
    0x80 | (15 << 3) | 0, //      1 unit, no location
    0x80 | (14 << 3) | 2,
    7,
    0,
    1,
    1, // 3 units, line -3 (svarint 7), end line, cols
  ]);
  assert.equal(locationTableLine(loc, 5, 0), 6);
  assert.equal(locationTableLine(loc, 5, 1), 7);
  assert.equal(locationTableLine(loc, 5, 2), 7);
  assert.equal(locationTableLine(loc, 5, 3), 7);
  assert.equal(locationTableLine(loc, 5, 4), 5, "no location: the first line");
  assert.equal(locationTableLine(loc, 5, 6), 4);
});
