/**
 * Names shown in terminal messages (file and directory names, paths, symbol names, commands):
 * quoted the way `ls --quoting-style=shell-escape` quotes them, so a name can neither hide in
 * the message (spaces, quotes) nor take the terminal over (escape sequences, bidi overrides),
 * and what is printed can be pasted back into a shell to name the same thing:
 *
 *     plain.txt            plain.txt
 *     a b                  'a b'
 *     it's                 "it's"
 *     dir<ESC>[31mred      'dir'$'\033''[31mred'
 *     a<LF>b               'a'$'\n''b'
 *
 * Pure: text in, text out.
 */

import { UNSAFE } from "./log.ts";

// Names shown as they are: letters and digits of any script, combining marks, and punctuation
// no shell reads specially.
const BARE = /^[\p{L}\p{N}\p{M}_.,:/@%+-]+$/u;

const UNSAFE_RUNS = new RegExp(`(?:${UNSAFE.source})+`, "g");

// The characters that keep their meaning inside double quotes.
const DOUBLE_QUOTE_SPECIAL = /["$`\\!]/;

/** C's short escapes, as `$'...'` reads them. */
const SHORT_ESCAPES: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0b: "\\v",
  0x0c: "\\f",
  0x0d: "\\r",
};

/** Printable text in single quotes (a `'` in it closes them, adds `\'` and reopens). */
function singleQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** The UTF-8 bytes of one UTF-16 unit or pair (a lone surrogate as its 3 bytes, WTF-8). */
function bytesOf(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [
    0xf0 | (cp >> 18),
    0x80 | ((cp >> 12) & 0x3f),
    0x80 | ((cp >> 6) & 0x3f),
    0x80 | (cp & 0x3f),
  ];
}

/** Unsafe characters as one `$'...'` word: C escapes, else each UTF-8 byte in octal. */
function dollarQuoted(run: string): string {
  let out = "$'";
  for (let i = 0; i < run.length; i++) {
    let cp = run.charCodeAt(i);
    const next = run.charCodeAt(i + 1);
    if (cp >= 0xd800 && cp < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
      cp = 0x10000 + ((cp - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    out += SHORT_ESCAPES[cp] ??
      bytesOf(cp).map((b) => "\\" + b.toString(8).padStart(3, "0")).join("");
  }
  return out + "'";
}

/**
 * A name as a message shows it: as it is when it is plain (`main.c`, `/usr/lib`, `é中`),
 * otherwise quoted for a shell, with escape sequences and other controls written as `$'\033'`
 * and the like, never sent to the terminal.
 */
export function quoteName(name: string): string {
  if (BARE.test(name)) return name;
  if (!UNSAFE.test(name)) {
    // Like ls: double quotes when they need no backslashes and single ones would.
    return name.includes("'") && !DOUBLE_QUOTE_SPECIAL.test(name)
      ? `"${name}"`
      : singleQuoted(name);
  }
  let out = "";
  let from = 0;
  for (const m of name.matchAll(UNSAFE_RUNS)) {
    if (m.index > from) out += singleQuoted(name.slice(from, m.index));
    out += dollarQuoted(m[0]);
    from = m.index + m[0].length;
  }
  if (from < name.length) out += singleQuoted(name.slice(from));
  return out;
}
