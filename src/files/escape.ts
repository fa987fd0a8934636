/**
 * File names as folded-stack frames.
 *
 * A folded line is `frame;frame;frame COUNT\n`, so a `;` or a newline inside a name would split
 * or break the stack in every tool that reads the format (flame, flamegraph.pl, inferno,
 * speedscope). Names are therefore written with look-alike characters, which every such tool
 * passes through untouched and which read as the original in the graph:
 *
 * - `;` becomes `;` (U+037E GREEK QUESTION MARK, drawn like a semicolon; Unicode even defines it
 *   as canonically equivalent to `;`),
 * - control characters U+0000–U+001F become their Control Pictures U+2400–U+241F (a newline
 *   shows as `␊`, a tab as `␉`, a carriage return as `␍`), and DEL becomes `␡` (U+2421),
 * - a byte that is not part of valid UTF-8 becomes `\xNN` (two lowercase hex digits), so names
 *   from any encoding keep their exact bytes.
 *
 * To keep this reversible, `\` is an escape character: a real backslash is written `\\`, and a
 * real U+037E or Control Picture in a name is written with a `\` before it. Everything else
 * (spaces, non-ASCII text, `<`, `&`, quotes, ...) is kept exactly as written; the SVG renderer
 * escapes it for XML. `unescapeName` turns a frame back into the name's exact bytes.
 *
 * Invalid UTF-8 can only be kept because the native walk (libc.ts) reads names as bytes. Deno's
 * own `readDir` decodes them to U+FFFD, losing the bytes, so the portable walk cannot even stat
 * such a name; it counts it as skipped instead of guessing.
 */

/** U+037E GREEK QUESTION MARK: what a `;` in a name is written as. */
export const SEMICOLON_LOOKALIKE = "\u037e";

const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const DEL = 0x7f;
const PICTURE_BASE = 0x2400;
const PICTURE_DEL = 0x2421;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** True for characters that need a backslash before them (they stand for something else). */
function isReservedLookalike(cp: number): boolean {
  return cp === 0x037e || (cp >= PICTURE_BASE && cp <= 0x241f) || cp === PICTURE_DEL;
}

/** True when the byte range holds only printable ASCII other than `;` and `\`. */
function isPlainAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i];
    if (b < 0x20 || b >= DEL || b === SEMICOLON || b === BACKSLASH) return false;
  }
  return true;
}

/**
 * The folded frame for a file name given as raw bytes (`bytes[start..end)`), per the rules
 * above. Plain ASCII names, the common case, cost one string copy.
 */
export function escapeNameBytes(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (isPlainAscii(bytes, start, end)) {
    // fromCharCode.apply takes array-likes; a typed array is one.
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let text: string | undefined;
  try {
    text = strictUtf8.decode(bytes.subarray(start, end));
  } catch {
    return escapeInvalidUtf8(bytes.subarray(start, end));
  }
  return escapeName(text);
}

/**
 * The folded frame for a name given as a string (a command-line argument, or a name from
 * `Deno.readDir`, where invalid UTF-8 has already become U+FFFD). A lone surrogate, which no
 * file name can hold, is written as U+FFFD.
 */
export function escapeName(name: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) rep = String.fromCharCode(PICTURE_BASE + c);
    else if (c === SEMICOLON) rep = SEMICOLON_LOOKALIKE;
    else if (c === BACKSLASH) rep = "\\\\";
    else if (c === DEL) rep = String.fromCharCode(PICTURE_DEL);
    else if (c < 0x037e) continue;
    else if (isReservedLookalike(c)) rep = "\\" + name[i];
    else if (c >= 0xd800 && c <= 0xdfff) {
      const pair = c <= 0xdbff && i + 1 < name.length &&
        (name.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      if (pair) {
        i++;
        continue;
      }
      rep = "\ufffd";
    } else continue;
    out += name.slice(from, i) + rep;
    from = i + 1;
  }
  return from === 0 ? name : out + name.slice(from);
}

/** Escapes bytes that are not valid UTF-8: valid runs as text, each stray byte as `\xNN`. */
function escapeInvalidUtf8(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    if (n === 0) {
      out += "\\x" + bytes[i].toString(16).padStart(2, "0");
      i++;
      continue;
    }
    let j = i + n;
    while (j < bytes.length) {
      const m = validSequenceLength(bytes, j);
      if (m === 0) break;
      j += m;
    }
    out += escapeName(strictUtf8.decode(bytes.subarray(i, j)));
    i = j;
  }
  return out;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 when it is not one. */
export function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i];
  if (b0 < 0x80) return 1;
  const cont = (k: number) => i + k < bytes.length && (bytes[i + k] & 0xc0) === 0x80;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const b1 = bytes[i + 1];
    if (b0 === 0xe0 && b1 < 0xa0) return 0; // overlong
    if (b0 === 0xed && b1 >= 0xa0) return 0; // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const b1 = bytes[i + 1];
    if (b0 === 0xf0 && b1 < 0x90) return 0; // overlong
    if (b0 === 0xf4 && b1 >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

/** Turns a frame written by `escapeNameBytes`/`escapeName` back into the name's bytes. */
export function unescapeName(frame: string): Uint8Array {
  const out: number[] = [];
  const pushText = (s: string) => {
    for (const b of encoder.encode(s)) out.push(b);
  };
  for (let i = 0; i < frame.length; i++) {
    const c = frame.charCodeAt(i);
    if (c === BACKSLASH && i + 1 < frame.length) {
      const next = frame[i + 1];
      const hex = frame.slice(i + 2, i + 4);
      if (next === "x" && /^[0-9a-fA-F]{2}$/.test(hex)) {
        out.push(parseInt(hex, 16));
        i += 3;
      } else {
        // `\\`, or `\` before a look-alike that stands for itself.
        const cp = frame.codePointAt(i + 1)!;
        pushText(String.fromCodePoint(cp));
        i += cp > 0xffff ? 2 : 1;
      }
    } else if (c === 0x037e) out.push(SEMICOLON);
    else if (c >= PICTURE_BASE && c <= 0x241f) out.push(c - PICTURE_BASE);
    else if (c === PICTURE_DEL) out.push(DEL);
    else {
      const cp = frame.codePointAt(i)!;
      pushText(String.fromCodePoint(cp));
      if (cp > 0xffff) i++;
    }
  }
  return Uint8Array.from(out);
}

/** `unescapeName` as text (invalid UTF-8 shown as U+FFFD), for messages. */
export function unescapeNameText(frame: string): string {
  return new TextDecoder().decode(unescapeName(frame));
}
