import assert from "node:assert/strict";
import {
  escapeName,
  escapeNameBytes,
  SEMICOLON_LOOKALIKE,
  unescapeName,
  unescapeNameText,
  validSequenceLength,
} from "../src/files/escape.ts";
import { appendEscaped, appendUint } from "../src/files/sinks.ts";
import { prng } from "./prng.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

Deno.test("escape: plain names, spaces, XML characters, quotes and non-ASCII stay as written", () => {
  for (
    const name of [
      "plain.txt",
      "with space",
      "<&\"'>.html",
      "ünïcödé ✓",
      "日本語；全角",
      "😀 emoji",
      "a:b,c=d",
      "-x",
      ".hidden",
    ]
  ) {
    assert.equal(escapeNameBytes(utf8(name)), name, name);
    assert.equal(escapeName(name), name, name);
  }
});

Deno.test("escape: ';' becomes U+037E, controls their pictures, DEL ␡, backslash doubled", () => {
  assert.equal(SEMICOLON_LOOKALIKE, "\u037e");
  assert.equal(escapeName("semi;colon"), "semi\u037ecolon");
  assert.equal(escapeName("new\nline"), "new\u240aline");
  assert.equal(escapeName("tab\there\r"), "tab\u2409here\u240d");
  assert.equal(escapeName("nul\x00 esc\x1b del\x7f"), "nul\u2400 esc\u241b del\u2421");
  assert.equal(escapeName("back\\slash"), "back\\\\slash");
});

Deno.test("escape: real look-alikes get a backslash so they stay distinct", () => {
  assert.equal(escapeName("greek\u037e"), "greek\\\u037e");
  assert.equal(escapeName("picture\u240a"), "picture\\\u240a");
  assert.equal(escapeName("del\u2421"), "del\\\u2421");
  assert.notEqual(escapeName("a;b"), escapeName("a\u037eb"));
  assert.notEqual(escapeName("a\nb"), escapeName("a\u240ab"));
});

Deno.test("escape: bytes that are not UTF-8 become \\xNN, valid runs around them stay text", () => {
  assert.equal(escapeNameBytes(Uint8Array.of(0x62, 0xff, 0x61)), "b\\xffa");
  // Latin-1 "café" (0xe9 alone is not UTF-8), an overlong '/', a UTF-16 surrogate, a cut char.
  assert.equal(escapeNameBytes(Uint8Array.of(0x63, 0x61, 0x66, 0xe9)), "caf\\xe9");
  assert.equal(escapeNameBytes(Uint8Array.of(0xc0, 0xaf)), "\\xc0\\xaf");
  assert.equal(escapeNameBytes(Uint8Array.of(0xed, 0xa0, 0x80)), "\\xed\\xa0\\x80");
  assert.equal(escapeNameBytes(Uint8Array.of(0x78, 0xe2, 0x9c)), "x\\xe2\\x9c");
  assert.equal(escapeNameBytes(Uint8Array.of(0xff, 0x3b, 0xe2, 0x9c, 0x93)), "\\xff\u037e✓");
});

Deno.test("escape: a sub-range of a buffer is escaped alone", () => {
  const buf = utf8("xxsemi;colonyy");
  assert.equal(escapeNameBytes(buf, 2, 12), "semi\u037ecolon");
});

Deno.test("escape: valid UTF-8 sequence lengths", () => {
  assert.equal(validSequenceLength(utf8("a"), 0), 1);
  assert.equal(validSequenceLength(utf8("é"), 0), 2);
  assert.equal(validSequenceLength(utf8("✓"), 0), 3);
  assert.equal(validSequenceLength(utf8("😀"), 0), 4);
  assert.equal(validSequenceLength(Uint8Array.of(0xf4, 0x90, 0x80, 0x80), 0), 0); // > U+10FFFF
  assert.equal(validSequenceLength(Uint8Array.of(0xe0, 0x80, 0x80), 0), 0); // overlong
  assert.equal(validSequenceLength(Uint8Array.of(0x80), 0), 0);
});

/** Random names biased towards the awkward bytes. */
function randomName(next: () => number): Uint8Array {
  const pool = [
    ...utf8(";\\\n\t\x7f x<&'\"é✓😀\u037e\u240a\u2421"),
    0xff,
    0xc3,
    0xe2,
    0x80,
    0xf0,
    0x00,
  ];
  const length = 1 + Math.floor(next() * 12);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = next() < 0.7 ? pool[Math.floor(next() * pool.length)] : Math.floor(next() * 256);
  }
  return out;
}

Deno.test("escape: every byte string round-trips and never holds ';' or a newline", () => {
  const next = prng(42);
  for (let i = 0; i < 20000; i++) {
    const bytes = randomName(next);
    const frame = escapeNameBytes(bytes);
    assert.ok(!frame.includes(";") && !frame.includes("\n"), JSON.stringify(frame));
    assert.deepEqual(unescapeName(frame), bytes, JSON.stringify(frame));
  }
});

Deno.test("escape: the string and byte forms agree on valid UTF-8", () => {
  const next = prng(7);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    const bytes = randomName(next);
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      continue;
    }
    assert.equal(escapeName(text), escapeNameBytes(bytes));
    checked++;
  }
  assert.ok(checked > 100, `only ${checked} valid names drawn`);
});

Deno.test("escape: unescapeNameText gives the name back as text", () => {
  assert.equal(unescapeNameText(escapeName("a;b\nc\\d")), "a;b\nc\\d");
  assert.equal(unescapeNameText("lone\\"), "lone\\");
});

Deno.test("appendEscaped writes what escapeNameBytes returns, as UTF-8", () => {
  const next = prng(3);
  const out = new Uint8Array(256);
  for (let i = 0; i < 2000; i++) {
    const name = randomName(next);
    const end = appendEscaped(out, 5, name, 0, name.length);
    assert.deepEqual(out.subarray(5, end), utf8(escapeNameBytes(name)));
  }
});

Deno.test("appendUint writes decimal digits up to 2^53", () => {
  const out = new Uint8Array(32);
  for (
    const v of [0, 7, 10, 99, 100, 4096, 2147483647, 2147483648, 5858839863, 2 ** 53 - 1]
  ) {
    const end = appendUint(out, 3, v);
    assert.equal(new TextDecoder().decode(out.subarray(3, end)), String(v));
  }
});
