/**
 * Opening inputs: a file path or `-` for stdin, as a byte stream, with one-line errors.
 */
import { describeFileError } from "../errors.ts";

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
 * Splits streamed text into lines (without the `\n`, and without a `\r` before it), calling
 * `onLine` with each line and its 1-based number. A last line without a newline is passed too.
 * A line longer than `maxLine` characters is skipped (and counted): memory and time stay linear
 * in the input whatever its lines.
 */
export class LineSplitter {
  /** The start of a line that goes on in the next chunk, in pieces (joined once, at its end). */
  #pieces: string[] = [];
  #restLength = 0;
  /** The line being read is too long: its text is dropped up to its end. */
  #skipping = false;
  #lineNo = 0;
  #skipped = 0;
  #firstSkipped = 0;

  constructor(
    private readonly onLine: (line: string, lineNo: number) => void,
    private readonly maxLine = MAX_LINE_CHARS,
  ) {}

  /** Feeds a chunk of text. */
  push(chunk: string): void {
    let nl = chunk.indexOf("\n");
    if (nl === -1) {
      this.#keep(chunk);
      return;
    }
    let start = 0;
    if (this.#restLength !== 0 || this.#skipping) {
      this.#keep(chunk.slice(0, nl));
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
    if (start < chunk.length) this.#keep(chunk.slice(start));
  }

  /** Ends the input; passes a final unterminated line, if any. */
  end(): void {
    if (this.#restLength !== 0 || this.#skipping) this.#endLine();
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

  /** Keeps text of a line that has not ended yet (unless the line is too long already). */
  #keep(text: string): void {
    if (this.#skipping || text === "") return;
    if (this.#restLength + text.length > this.maxLine + 1) {
      // One more than the limit: the line's `\r` may still be to come.
      this.#pieces = [];
      this.#restLength = 0;
      this.#skipping = true;
      return;
    }
    this.#pieces.push(text);
    this.#restLength += text.length;
  }

  /** The line kept in pieces has ended. */
  #endLine(): void {
    if (this.#skipping) {
      this.#skipping = false;
      this.#skip();
      return;
    }
    let line = this.#pieces.length === 1 ? this.#pieces[0] : this.#pieces.join("");
    this.#pieces = [];
    this.#restLength = 0;
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
