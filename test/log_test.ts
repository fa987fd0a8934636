import assert from "node:assert/strict";
import { info, showable, sink, warn } from "../src/log.ts";
import { runFlame, withTempDir } from "./helpers.ts";

Deno.test("showable: controls and bidi overrides become escapes; text stays", () => {
  assert.equal(showable("plain text, ünïcödé, 日本"), "plain text, ünïcödé, 日本");
  assert.equal(showable("a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
  assert.equal(showable("one\ntwo\rthree\x07"), "one\\ntwo\\x0dthree\\x07");
  assert.equal(showable("\u202egnp.exe"), "\\u202egnp.exe");
  assert.equal(showable("\x9b2J"), "\\x9b2J"); // the one-byte CSI
  assert.equal(showable("tab\tkept"), "tab\tkept");
  // The same characters as names quoted for the terminal: lone surrogates too, pairs kept.
  assert.equal(showable("lone\ud800 pair\ud83d\ude00"), "lone\\ud800 pair\ud83d\ude00");
  assert.equal(showable("\u2028\u2029"), "\\u2028\\u2029");
});

Deno.test("warn and info never write a control character of a message", () => {
  const lines: string[] = [];
  const write = sink.write;
  sink.write = (text) => void lines.push(text);
  try {
    warn("cannot read dir\x1b]0;owned\x07");
    info("name\nflame: error: forged");
  } finally {
    sink.write = write;
  }
  assert.deepEqual(lines, [
    "flame: warning: cannot read dir\\x1b]0;owned\\x07\n",
    "flame: name\\nflame: error: forged\n",
  ]);
});

Deno.test("e2e: a file name with an escape sequence is shown escaped in the error", async () => {
  await withTempDir(async (dir) => {
    const r = await runFlame(["svg", `${dir}/x\x1b[2Jy.folded`]);
    assert.equal(r.code, 1);
    assert.ok(!r.stderr.includes("\x1b"), r.stderr);
    assert.match(r.stderr, /x\\x1b\[2Jy\.folded: no such file/);
  });
});
