/**
 * Opening inputs: a file path or `-` for stdin, as a byte stream, with one-line errors.
 */
import { describeFileError } from "../errors.ts";
import { quoteName } from "../terminal.ts";

/** An opened input: its bytes, a name for messages, and its size when known. */
export interface Input {
  name: string;
  readable: ReadableStream<Uint8Array>;
  /** Bytes in the file, or undefined for pipes and stdin. */
  size?: number;
}

/** Opens `path` (or stdin for `-` / undefined). Throws a FlameError naming the file. */
export async function openInput(path: string | undefined): Promise<Input> {
  if (path === undefined || path === "-") {
    return { name: "<stdin>", readable: Deno.stdin.readable };
  }
  try {
    const file = await Deno.open(path, { read: true });
    const stat = await file.stat();
    if (stat.isDirectory) {
      file.close();
      throw new Deno.errors.IsADirectory(path);
    }
    return { name: path, readable: file.readable, size: stat.isFile ? stat.size : undefined };
  } catch (err) {
    throw describeFileError(path, err);
  }
}

/**
 * The longest line (in UTF-16 characters) a reader takes: far longer than any real frame line or
 * folded stack (a 5,000-frame stack of 100-character names is 0.5 Mi), short enough that a file
 * that is one endless line is read in bounded memory.
 */
export const MAX_LINE_CHARS = 1 << 22;

/**
 * The start of a line that goes on in the next chunk, kept in pieces (joined once, at its end)
 * up to `limit` characters: a longer line is dropped up to its end, so memory stays bounded
 * whatever the lines.
 */
export class LineCarry {
  #pieces: string[] = [];
  #length = 0;
  #tooLong = false;

  constructor(private readonly limit: number) {}

  /** True while part of a line is held (or being dropped). */
  get pending(): boolean {
    return this.#length !== 0 || this.#tooLong;
  }

  /** Adds text of the unfinished line. */
  add(text: string): void {
    if (this.#tooLong || text === "") return;
    if (this.#length + text.length > this.limit) {
      this.#pieces = [];
      this.#length = 0;
      this.#tooLong = true;
      return;
    }
    this.#pieces.push(text);
    this.#length += text.length;
  }

  /** Ends the line: its text, or undefined when it was too long. The next line starts afresh. */
  take(): string | undefined {
    const tooLong = this.#tooLong;
    const line = this.#pieces.length === 1 ? this.#pieces[0] : this.#pieces.join("");
    this.#pieces = [];
    this.#length = 0;
    this.#tooLong = false;
    return tooLong ? undefined : line;
  }
}

/**
 * Splits streamed text into lines (without the `\n`, and without a `\r` before it), calling
 * `onLine` with each line and its 1-based number. A last line without a newline is passed too.
 * A line longer than `maxLine` characters is skipped (and counted): memory and time stay linear
 * in the input whatever its lines.
 */
export class LineSplitter {
  /** The start of a line that goes on in the next chunk (one more than the limit: its `\r`). */
  readonly #carry: LineCarry;
  #lineNo = 0;
  #skipped = 0;
  #firstSkipped = 0;

  constructor(
    private readonly onLine: (line: string, lineNo: number) => void,
    private readonly maxLine = MAX_LINE_CHARS,
  ) {
    this.#carry = new LineCarry(maxLine + 1);
  }

  /** Feeds a chunk of text. */
  push(chunk: string): void {
    let nl = chunk.indexOf("\n");
    if (nl === -1) {
      this.#carry.add(chunk);
      return;
    }
    let start = 0;
    if (this.#carry.pending) {
      this.#carry.add(chunk.slice(0, nl));
      this.#endLine();
      start = nl + 1;
      nl = chunk.indexOf("\n", start);
    }
    const max = this.maxLine;
    for (; nl !== -1; nl = chunk.indexOf("\n", start)) {
      const end = nl > start && chunk.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > max) this.#skip();
      else this.onLine(chunk.slice(start, end), ++this.#lineNo);
      start = nl + 1;
    }
    if (start < chunk.length) this.#carry.add(chunk.slice(start));
  }

  /** Ends the input; passes a final unterminated line, if any. */
  end(): void {
    if (this.#carry.pending) this.#endLine();
  }

  /** Lines seen so far (skipped ones included). */
  get lineCount(): number {
    return this.#lineNo;
  }

  /** Lines skipped for being longer than the limit. */
  get skippedLines(): number {
    return this.#skipped;
  }

  /** The longest line passed on. */
  get limit(): number {
    return this.maxLine;
  }

  /** The number of the first line skipped, or 0. */
  get firstSkippedLine(): number {
    return this.#firstSkipped;
  }

  /** The line kept in pieces has ended. */
  #endLine(): void {
    let line = this.#carry.take();
    if (line === undefined) {
      this.#skip();
      return;
    }
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length > this.maxLine) this.#skip();
    else this.onLine(line, ++this.#lineNo);
  }

  #skip(): void {
    this.#lineNo++;
    if (this.#skipped++ === 0) this.#firstSkipped = this.#lineNo;
  }
}

/** The one-line warning for lines a LineSplitter skipped, or undefined when there were none. */
export function skippedLinesWarning(splitter: LineSplitter): string | undefined {
  const n = splitter.skippedLines;
  if (n === 0) return undefined;
  return `${n === 1 ? "1 line" : `${n} lines`} longer than ${splitter.limit} characters ` +
    `skipped, the first at line ${splitter.firstSkippedLine}`;
}

/** Bytes of an input's start looked at to tell text from binary data. */
export const SNIFF_BYTES = 4096;

/** Binary formats a profile's text is mistaken for, by their first bytes. */
const SIGNATURES: { magic: number[]; what: string; advice?: (name: string) => string }[] = [
  {
    magic: [...new TextEncoder().encode("PERFILE2")],
    what: "a perf.data recording",
    advice: (name) => `draw it with 'flame report ${name}'`,
  },
  {
    magic: [...new TextEncoder().encode("2ELIFREP")],
    what: "a perf.data recording",
    advice: (name) => `draw it with 'flame report ${name}'`,
  },
  { magic: [0x1f, 0x8b], what: "gzip data", advice: (name) => `unpack it first: zcat ${name}` },
  {
    magic: [0x28, 0xb5, 0x2f, 0xfd],
    what: "zstd data",
    advice: (name) => `unpack it first: zstdcat ${name}`,
  },
  {
    magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    what: "xz data",
    advice: (name) => `unpack it first: xzcat ${name}`,
  },
  {
    magic: [0x42, 0x5a, 0x68],
    what: "bzip2 data",
    advice: (name) => `unpack it first: bzcat ${name}`,
  },
  { magic: [0x50, 0x4b, 0x03, 0x04], what: "a zip archive" },
  { magic: [0x7f, 0x45, 0x4c, 0x46], what: "an executable or library (ELF)" },
  { magic: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image" },
  {
    magic: [0xff, 0xfe],
    what: "UTF-16 text",
    advice: (name) => `convert it to UTF-8 first: iconv -f UTF-16 -t UTF-8 ${name}`,
  },
  {
    magic: [0xfe, 0xff],
    what: "UTF-16 text",
    advice: (name) => `convert it to UTF-8 first: iconv -f UTF-16 -t UTF-8 ${name}`,
  },
];

/** Invalid UTF-8 bytes in a head, as a share of it, above which it is not text. */
const MAX_INVALID_SHARE = 0.1;

/** Bytes in `head` that are not part of valid UTF-8 (an incomplete last character aside). */
function invalidUtf8Bytes(head: Uint8Array, complete: boolean): number {
  let bad = 0;
  for (let i = 0; i < head.length;) {
    const b = head[i];
    const need = b < 0x80
      ? 0
      : b >= 0xc2 && b <= 0xdf
      ? 1
      : b >= 0xe0 && b <= 0xef
      ? 2
      : b >= 0xf0 && b <= 0xf4
      ? 3
      : -1;
    if (need === -1) {
      bad++;
      i++;
      continue;
    }
    if (!complete && i + need >= head.length) break; // cut in the middle of a character
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const c = head[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
    }
    if (ok) {
      i += need + 1;
    } else {
      bad++;
      i++;
    }
  }
  return bad;
}

/**
 * What the start of an input (`head`, its first SNIFF_BYTES bytes or all of it when
 * `complete`) is when it is no text (a known binary format, or binary data: NUL bytes, mostly
 * invalid UTF-8), said for a message after the input's name, with advice where there is one:
 * `looks like a perf.data recording, not UTF-8 text: draw it with 'flame report perf.data'`.
 * Undefined for text. `name` is the input's, for the advice.
 */
export function describeBinary(
  head: Uint8Array,
  name: string,
  complete = false,
): string | undefined {
  // The advice is a command to paste: the name quoted as a shell reads it back.
  const file = name === "<stdin>" ? "FILE" : quoteName(name);
  for (const { magic, what, advice } of SIGNATURES) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) {
      const text = `looks like ${what}, not UTF-8 text`;
      return advice === undefined ? text : `${text}: ${advice(file)}`;
    }
  }
  if (head.includes(0)) return "looks like binary data (it has NUL bytes), not UTF-8 text";
  if (invalidUtf8Bytes(head, complete) > head.length * MAX_INVALID_SHARE) {
    return "looks like binary data (mostly invalid UTF-8), not UTF-8 text";
  }
  return undefined;
}

/**
 * Watches the first bytes of an input go by and tells, once it has seen SNIFF_BYTES of them
 * (or the input ended), whether they are binary data rather than text.
 */
export class BinarySniffer {
  readonly #head = new Uint8Array(SNIFF_BYTES);
  #filled = 0;
  #decided = false;

  /** `name`: the input's, for the advice. */
  constructor(private readonly name: string) {}

  /**
   * Looks at the next bytes of the input. Returns what the input is when these bytes showed it
   * to be binary; undefined while undecided or for text.
   */
  push(bytes: Uint8Array): string | undefined {
    if (this.#decided) return undefined;
    const n = Math.min(bytes.length, SNIFF_BYTES - this.#filled);
    this.#head.set(bytes.subarray(0, n), this.#filled);
    this.#filled += n;
    if (this.#filled < SNIFF_BYTES) return undefined;
    this.#decided = true;
    return describeBinary(this.#head, this.name);
  }

  /** The input has ended: what it is if binary (when fewer than SNIFF_BYTES came). */
  end(): string | undefined {
    if (this.#decided) return undefined;
    this.#decided = true;
    return describeBinary(this.#head.subarray(0, this.#filled), this.name, true);
  }
}
