/**
 * Cutting streamed `perf script` text into what the readers take: whole samples (a header line,
 * its frame lines and the blank line that ends it) for the block reader, single lines for Perl's
 * line-by-line reader. Chunks may end anywhere, also inside a line or a CRLF; the text kept
 * between chunks is at most one sample (or one line) and a line longer than MAX_LINE is cut.
 * Text is joined only where a line or sample straddles two chunks.
 */
import { MAX_LINE_CHARS } from "../io/input.ts";
import type { BlockReader } from "./perf_blocks.ts";
import { isPerlSpace } from "./perf_lines.ts";
import type { LineReader } from "./perf_perl.ts";

/** #blockLines: the text ends before the blank line. */
const NO_BLANK = -1;
/** #blockLines: the block is longer than MAX_BLOCK. */
const TOO_LONG = -2;
/** A sample longer than this is read line by line instead of as one block. */
const MAX_BLOCK = 1 << 20;

/** A copy of `a` twice as long. */
function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/** Feeds perf script text to the readers; see the module comment. */
export class PerfScanner {
  /** Lines read so far. */
  lineNo = 0;
  /** Lines cut at MAX_LINE_CHARS, and the number of the first. */
  cutLines = 0;
  firstCut = 0;
  #carry: string[] = [];
  #carryLen = 0;
  #heldCr = false;
  #cutting = false;
  /** Where the lines of the block being read start, and the blank line after them (reused). */
  #starts = new Int32Array(256);
  /** Lines in the block #starts holds. */
  #blockSize = 0;

  /** `blocks`: the block reader, or undefined to read every line with `lines`. */
  constructor(
    private readonly lines: LineReader,
    private readonly blocks: BlockReader | undefined,
  ) {}

  /** Feeds decoded text; chunks may end anywhere. */
  push(chunk: string): void {
    chunk = this.#normalizeNewlines(chunk);
    if (chunk === "") return;
    if (this.#cutting) {
      const nl = chunk.indexOf("\n");
      if (nl === -1) return;
      chunk = chunk.slice(nl);
      this.#cutting = false;
    }
    const start = this.#carryLen === 0 ? 0 : this.#joinCarry(chunk);
    if (start === -1) return;
    const pos = this.#scan(chunk, start, false);
    if (pos < chunk.length) this.#appendCarry(chunk.slice(pos));
  }

  /** Ends the input: the text kept is read, a last line without a newline too. */
  finish(): void {
    this.#heldCr = false; // a lone CR at the very end is dropped, like the CR of a CRLF
    const text = this.#carry.join("");
    this.#carry = [];
    this.#carryLen = 0;
    const pos = this.#scan(text, 0, true);
    if (pos < text.length) this.lines.line(text.slice(pos), ++this.lineNo);
  }

  /**
   * Completes the text kept from earlier chunks with the start of `chunk` (up to the end of the
   * sample or line it was waiting for) and processes it. Joining only that much, not the whole
   * chunk, avoids copying every chunk once more. Returns where to go on in `chunk`, or -1 when
   * all of it has been taken.
   */
  #joinCarry(chunk: string): number {
    const nl = chunk.indexOf("\n");
    if (nl === -1) {
      this.#appendCarry(chunk);
      return -1;
    }
    let from = 0;
    if (this.#carryLen + nl > MAX_LINE_CHARS) {
      // The line ending here is too long: keep its first MAX_LINE_CHARS characters.
      this.#appendCarry(chunk.slice(0, nl));
      this.#cutting = false;
      from = nl;
    }
    const last = this.#carry[this.#carry.length - 1];
    let end: number;
    if (from === 0 && last.endsWith("\n") && chunk.charCodeAt(0) === 10) {
      end = from + 1;
    } else {
      const blank = chunk.indexOf("\n\n", from);
      end = blank === -1 ? nl + 1 : blank + 2;
    }
    const head = this.#carry.join("") + chunk.slice(from, end);
    this.#carry = [];
    this.#carryLen = 0;
    const done = this.#scan(head, 0, false);
    if (done === head.length) return end;
    // The head ends inside a sample that goes on in this chunk: join them after all (rare).
    const text = head.slice(done) + chunk.slice(end);
    const pos = this.#scan(text, 0, false);
    if (pos < text.length) this.#appendCarry(text.slice(pos));
    return -1;
  }

  /** CRLF reads as LF; a CR at the end of a chunk waits for the next one. */
  #normalizeNewlines(chunk: string): string {
    if (this.#heldCr) {
      chunk = "\r" + chunk;
      this.#heldCr = false;
    }
    if (chunk.indexOf("\r") === -1) return chunk;
    if (chunk.endsWith("\r")) {
      this.#heldCr = true;
      chunk = chunk.slice(0, -1);
    }
    return chunk.replaceAll("\r\n", "\n");
  }

  /** Keeps text that does not end a line yet, cutting a line longer than MAX_LINE_CHARS. */
  #appendCarry(text: string): void {
    if (this.#carryLen + text.length > MAX_LINE_CHARS) {
      const room = MAX_LINE_CHARS - this.#carryLen;
      if (room > 0) this.#carry.push(text.slice(0, room));
      this.#carryLen = MAX_LINE_CHARS;
      this.#cutting = true;
      if (this.cutLines++ === 0) this.firstCut = this.lineNo + 1;
      return;
    }
    this.#carry.push(text);
    this.#carryLen += text.length;
  }

  /**
   * Processes the complete lines of `text` from `start` on and returns where the unprocessed
   * rest starts. Whole samples go to the block reader; everything else goes line by line.
   * Unless `final`, a sample whose closing blank line is not in `text` yet is left for the
   * next chunk.
   */
  #scan(text: string, start: number, final: boolean): number {
    const blocks = this.blocks;
    blocks?.newText();
    let pos = start;
    const n = text.length;
    while (pos < n) {
      if (blocks !== undefined && this.lines.idle) {
        const c = text.charCodeAt(pos);
        if (c !== 35 /* # */ && !isPerlSpace(c)) {
          const eol = text.indexOf("\n", pos);
          if (eol === -1) return pos;
          const end = this.#blockLines(text, eol);
          if (end >= 0) {
            this.lines.endFrames();
            const size = this.#blockSize;
            if (blocks.read(text, pos, eol, end, this.#starts, size, this.lineNo + 1)) {
              this.lineNo += size + 2;
              pos = end + 2;
              continue;
            }
          } else if (end === NO_BLANK && !final && n - pos <= MAX_BLOCK) {
            return pos; // wait for the rest of the sample
          }
        }
      }
      const eol = text.indexOf("\n", pos);
      if (eol === -1) return pos;
      this.lines.line(text.slice(pos, eol), ++this.lineNo);
      pos = eol + 1;
    }
    return pos;
  }

  /**
   * Finds the lines of the sample block after the header line that ends at `eol`, up to the
   * blank line that ends it: their starts go to #starts (#blockSize of them, and the blank line's
   * start after them). Returns where the last line ends (the `\n` before the blank line; `eol`
   * for no lines), or NO_BLANK when `text` ends first, or TOO_LONG past MAX_BLOCK characters.
   */
  #blockLines(text: string, eol: number): number {
    let starts = this.#starts;
    let n = 0;
    for (let p = eol + 1;; n++) {
      if (p - eol > MAX_BLOCK) return TOO_LONG;
      if (n === starts.length) starts = this.#starts = grow(starts);
      starts[n] = p;
      const c = text.charCodeAt(p);
      if (c === 10) {
        this.#blockSize = n;
        return p - 1;
      }
      if (c !== c) return NO_BLANK; // NaN: the end of the text
      const nl = text.indexOf("\n", p);
      if (nl === -1) return NO_BLANK;
      p = nl + 1;
    }
  }
}
