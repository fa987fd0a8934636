/**
 * Reading folded input (`stack COUNT`, or `stack BEFORE AFTER` for a differential), the format
 * flamegraph.pl and difffolded.pl read.
 *
 * Speed matters here: `flame svg` runs once, with cold code, so the input is read in a few large
 * blocks, each decoded once, and lines are parsed in place (native searches, no per-line
 * strings other than the stack itself).
 *
 * Hostile input is read in linear time and bounded memory: a line longer than MAX_LINE_CHARS is
 * skipped without being held, a count that is no finite number (`1` and 400 zeros) or that would
 * make the sum of counts overflow makes its line invalid, and binary data is refused at once.
 */
import { FlameError } from "../errors.ts";
import { BinarySniffer, type Input, LineCarry, MAX_LINE_CHARS } from "../io/input.ts";

/** One parsed folded line. `before` is set for two-count (differential) lines. */
export interface FoldedLine {
  stack: string;
  count: number;
  before?: number;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/**
 * Where the count that ends `text[start, end)` begins, or -1 when there is none: digits with at
 * most one dot (`^\d+(?:\.\d*)?$`), preceded by whitespace (which `text[result - 1]` is).
 */
function countStart(text: string, start: number, end: number): number {
  let i = end - 1;
  let dots = 0;
  // Walk back over digits and dots only: a stack has no count unless whitespace precedes them
  // (scanning back to any whitespace would walk most stacks, which rarely contain spaces).
  for (; i >= start; i--) {
    const c = text.charCodeAt(i);
    if (c === 46) dots++;
    else if (c < 48 || c > 57) break;
  }
  if (i < start || i === end - 1 || !isSpace(text.charCodeAt(i))) return -1;
  if (dots > 1 || text.charCodeAt(i + 1) === 46) return -1;
  return i + 1;
}

/** Receives parsed folded lines: the stack, its count, and the BEFORE count of a differential. */
export interface FoldedSink {
  add(stack: string, count: number, before: number | undefined): void;
}

/** What parseRange found: no folded line, a one-count line, a two-count line. */
const NONE = 0;
const PLAIN = 1;
const DIFFERENTIAL = 2;

/** A line whose count, or the sum of counts with it, is too large for a number. */
const TOO_LARGE = 3;
/** A line longer than MAX_LINE_CHARS (not parsed). */
const TOO_LONG = 4;

/**
 * The sums of the counts read into one sink (from one input or several): a line whose count
 * would make a sum overflow is invalid, so every sum the sink makes stays a finite number.
 */
export class CountTotals {
  /** The sum of the counts (AFTER counts of differential lines). */
  count = 0;
  /** The sum of the BEFORE counts of differential lines. */
  before = 0;
}

/**
 * Parses the folded line `text[start, end)` into `sink`, unless it has no trailing count. A
 * second trailing number makes it differential: `stack BEFORE AFTER`. With `totals`, counts
 * are summed there, and a line that would make a sum overflow is not passed on.
 */
function parseRange(
  text: string,
  start: number,
  end: number,
  sink: FoldedSink,
  totals?: CountTotals,
): number {
  const c = countStart(text, start, end);
  // The whitespace before the count ends the stack, which is not empty.
  if (c <= start + 1) return NONE;
  const count = Number(text.slice(c, end));
  if (count === Infinity) return TOO_LARGE;
  // A second count is rare: look for one only after a digit or dot.
  const p = text.charCodeAt(c - 2);
  const b = (p >= 48 && p <= 57) || p === 46 ? countStart(text, start, c - 1) : -1;
  if (b > start + 1) {
    const before = Number(text.slice(b, c - 1));
    if (before === Infinity) return TOO_LARGE;
    if (totals !== undefined) {
      const sum = totals.count + count;
      const sumBefore = totals.before + before;
      if (sum === Infinity || sumBefore === Infinity) return TOO_LARGE;
      totals.count = sum;
      totals.before = sumBefore;
    }
    sink.add(text.slice(start, b - 1), count, before);
    return DIFFERENTIAL;
  }
  if (totals !== undefined) {
    const sum = totals.count + count;
    if (sum === Infinity) return TOO_LARGE;
    totals.count = sum;
  }
  sink.add(text.slice(start, c - 1), count, undefined);
  return PLAIN;
}

/** A sink that makes FoldedLine objects. */
class LineSink implements FoldedSink {
  constructor(readonly onLine: (line: FoldedLine) => void) {}
  add(stack: string, count: number, before: number | undefined): void {
    this.onLine(before === undefined ? { stack, count } : { stack, count, before });
  }
}

/**
 * Parses one folded line, or returns undefined when it has no trailing count. A second trailing
 * number makes it differential: `stack BEFORE AFTER`.
 */
export function parseFoldedLine(line: string): FoldedLine | undefined {
  let parsed: FoldedLine | undefined;
  parseRange(line, 0, line.length, new LineSink((l) => parsed = l));
  return parsed;
}

/** True for a line that ends in a count (or two) too large for a number (`1` and 400 zeros). */
export function hasCountTooLarge(line: string): boolean {
  return parseRange(line, 0, line.length, new LineSink(() => {})) === TOO_LARGE;
}

/** What reading a folded input found besides its lines. */
export interface FoldedReadStats {
  lines: number;
  /** Lines that are not folded stacks (blank and `#` comment lines excluded). */
  invalid: number;
  /** 1-based number of the first invalid line, or 0. */
  firstInvalidLine: number;
  /** True when some line had two counts. */
  differential: boolean;
  /** Of the invalid lines: those longer than MAX_LINE_CHARS (skipped unread). */
  tooLong: number;
  /** Of the invalid lines: those whose count (or the sum with it) is too large for a number. */
  tooLarge: number;
}

/** How a folded input is read besides its text. */
export interface ReadFoldedOptions {
  /** The input's name, for the error that binary data gives (default: "the input"). */
  name?: string;
  /** Sums shared by every input read into one sink (by default, this input's own). */
  totals?: CountTotals;
}

/**
 * Bytes read at once: large enough that reads and decodes are few, small enough that the one
 * buffer, reused, stays in memory already touched (fresh pages cost more than the reading).
 */
const BLOCK = 1 << 18;

/**
 * The input's bytes, a block at a time. The block is read straight into (where the stream
 * allows it) and reused: each is only valid until the next is asked for.
 */
async function* byteBlocks(readable: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = readable.getReader({ mode: "byob" });
  } catch {
    yield* readable; // not a byte stream: take its chunks as they come
    return;
  }
  let buffer = new ArrayBuffer(BLOCK);
  let filled = 0;
  for (;;) {
    const { value, done } = await reader.read(new Uint8Array(buffer, filled));
    if (value) {
      buffer = value.buffer as ArrayBuffer;
      filled += value.byteLength;
    }
    if (done || filled === buffer.byteLength) {
      if (filled > 0) yield new Uint8Array(buffer, 0, filled);
      if (done) return;
      filled = 0;
    }
  }
}

/**
 * Streams the folded lines of `input` to `onLine`, skipping blank and `#` comment lines and
 * counting invalid ones. CRLF and LF read alike; invalid UTF-8 is replaced, never fatal.
 */
export function readFolded(
  input: Input,
  onLine: (line: FoldedLine) => void,
  options: ReadFoldedOptions = {},
): Promise<FoldedReadStats> {
  return readFoldedInto(input, new LineSink(onLine), options);
}

/**
 * Reads `input` as `readFolded` does, passing each line's parts to `sink` (no object per line).
 * Throws a FlameError naming the input when it is binary data.
 */
export async function readFoldedInto(
  input: Input,
  sink: FoldedSink,
  options: ReadFoldedOptions = {},
): Promise<FoldedReadStats> {
  const parser = new FoldedParser(sink, { name: input.name, ...options });
  for await (const bytes of byteBlocks(input.readable)) parser.push(bytes);
  return parser.end();
}

/**
 * Reads an opened file as `readFoldedInto` reads an input, but synchronously: for a command that
 * runs once, the streams machinery costs more than the reading.
 */
export function readFoldedSync(
  file: Deno.FsFile,
  sink: FoldedSink,
  options: ReadFoldedOptions = {},
): FoldedReadStats {
  const parser = new FoldedParser(sink, options);
  const block = new Uint8Array(BLOCK);
  for (let n = file.readSync(block); n !== null; n = file.readSync(block)) {
    parser.push(block.subarray(0, n));
  }
  return parser.end();
}

/**
 * Parses folded text fed as UTF-8 blocks of any size (a character may straddle two), passing
 * each folded line to the sink.
 */
class FoldedParser {
  readonly #sink: FoldedSink;
  readonly #totals: CountTotals;
  readonly #sniffer: BinarySniffer;
  readonly #name: string;
  readonly #stats: FoldedReadStats = {
    lines: 0,
    invalid: 0,
    firstInvalidLine: 0,
    differential: false,
    tooLong: 0,
    tooLarge: 0,
  };
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
  /** The unfinished last line of the text so far (the limit, and room for its `\r\n`). */
  readonly #rest = new LineCarry(MAX_LINE_CHARS + 2);

  constructor(sink: FoldedSink, options: ReadFoldedOptions) {
    this.#sink = sink;
    this.#totals = options.totals ?? new CountTotals();
    this.#name = options.name ?? "the input";
    this.#sniffer = new BinarySniffer(this.#name);
  }

  /** Parses the lines `bytes` completes; the bytes may be reused once this returns. */
  push(bytes: Uint8Array): void {
    this.#notText(this.#sniffer.push(bytes));
    const text = this.#decoder.decode(bytes, { stream: true });
    const first = text.indexOf("\n");
    if (first === -1) {
      this.#rest.add(text);
      return;
    }
    let from = 0;
    if (this.#rest.pending) {
      // The line that straddles two blocks is joined on its own: joining whole blocks would copy.
      this.#rest.add(text.slice(0, first + 1));
      this.#endRest();
      from = first + 1;
    }
    const last = text.lastIndexOf("\n");
    this.#lines(text, from, last + 1);
    this.#rest.add(text.slice(last + 1));
  }

  /** Parses the last line, if unterminated, and returns what was found. */
  end(): FoldedReadStats {
    this.#notText(this.#sniffer.end());
    this.#rest.add(this.#decoder.decode());
    if (this.#rest.pending) this.#endRest();
    return this.#stats;
  }

  #notText(binary: string | undefined): void {
    if (binary !== undefined) throw new FlameError(`${this.#name}: ${binary}`);
  }

  /** The line kept in pieces has ended (or the input has): parses it. */
  #endRest(): void {
    const line = this.#rest.take();
    if (line === undefined) this.#tooLong();
    else this.#lines(line, 0, line.length);
  }

  /** Counts a line too long to read as invalid. */
  #tooLong(): void {
    const stats = this.#stats;
    stats.lines++;
    stats.tooLong++;
    if (stats.invalid++ === 0) stats.firstInvalidLine = stats.lines;
  }

  /** Parses the lines of `text[from, end)` (the last one may lack its `\n`). */
  #lines(text: string, from: number, end: number): void {
    const stats = this.#stats;
    const sink = this.#sink;
    const totals = this.#totals;
    let lineNo = stats.lines;
    for (let start = from; start < end;) {
      let nl = text.indexOf("\n", start);
      if (nl === -1 || nl >= end) nl = end;
      const stop = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      lineNo++;
      // A `#` comment is skipped even when it ends in a number.
      const parsed = text.charCodeAt(start) === 35
        ? NONE
        : stop - start > MAX_LINE_CHARS
        ? TOO_LONG
        : parseRange(text, start, stop, sink, totals);
      if (parsed === DIFFERENTIAL) stats.differential = true;
      else if (parsed !== PLAIN && (parsed !== NONE || !isBlankOrComment(text, start, stop))) {
        if (parsed === TOO_LONG) stats.tooLong++;
        if (parsed === TOO_LARGE) stats.tooLarge++;
        if (stats.invalid++ === 0) stats.firstInvalidLine = lineNo;
      }
      start = nl + 1;
    }
    stats.lines = lineNo;
  }
}

/** True for an empty, all-whitespace or `#` line. */
function isBlankOrComment(text: string, start: number, stop: number): boolean {
  return start === stop || text.charCodeAt(start) === 35 || text.slice(start, stop).trim() === "";
}
