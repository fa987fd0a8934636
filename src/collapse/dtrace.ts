/**
 * The DTrace collapser: folds the text DTrace prints for a `@[ustack()] = count()` (or
 * `stack()`, or both) aggregation into folded stacks, with stackcollapse.pl's rules and the
 * fixes listed in the conformance README (include-offset keeps the whole stack, Rust names
 * that DTrace half-demangles are repaired).
 *
 * DTrace's aggregation output: a header (`CPU ID FUNCTION:NAME`, the probe that ended the
 * run), a blank line, then per stack its frames leaf first, one per indented line
 * (`module`function+0xoffset`, or a bare address), and the count on a line of its own.
 */
import type { FrameInfo } from "../profile/profile.ts";
import { describeDtraceFrame } from "./frames.ts";
import { repairRustSymbol } from "./rust.ts";
import { LineSplitter, skippedLinesWarning } from "../io/input.ts";
import { addStack, type FoldedStacks } from "../folded/stacks.ts";
import { parseFoldedLine } from "../folded/parse.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";

/** Options of the DTrace collapser. */
export interface DtraceOptions {
  /**
   * Keep each frame's `+0xoffset` (except the leaf's), like stackcollapse.pl with
   * `$includeoffset = 1` or inferno's `--includeoffset`.
   */
  includeOffset?: boolean;
}

/** A header longer than this (without the blank line that ends it) is not DTrace's. */
const MAX_HEADER_LINES = 20;
/**
 * Blank-line-separated groups of frames one stack may span before its count. DTrace puts one
 * blank line between `stack()` and `ustack()` keys; perf script or other text puts one after
 * every sample, so many groups without a count mean this is not DTrace output.
 */
const MAX_GROUPS = 8;
/** No DTrace stack is this deep (its `ustackframes` limit is far lower). */
const MAX_FRAMES = 1 << 20;
/** Frame lines whose folding is remembered: the same frames recur in stack after stack. */
const CACHE_LIMIT = 1 << 16;

const DIGITS = /^\d+$/;
/**
 * True for a folded line (`a;b;c 12`): already collapsed, no DTrace frame ends in a count.
 * (Scanned, not matched with a regular expression: `;.*\s\d+$` takes quadratic time on a long
 * line of `;`.)
 */
function isFoldedLine(line: string): boolean {
  const parsed = line.includes(";") ? parseFoldedLine(line) : undefined;
  return parsed !== undefined && parsed.stack.includes(";");
}

/** A line holding only a count: the end of a stack. */
export function isCountLine(line: string): boolean {
  return /^\s*\d+\s*$/.test(line);
}

/** True for a line that looks like a DTrace frame: `module`function` or a bare `0x` address. */
export function looksLikeFrame(line: string): boolean {
  return line.includes("`") || /^\s*0x[0-9a-fA-F]+(?:\+0x[0-9a-fA-F]+)?\s*$/.test(line);
}

/** Cuts a frame at its last `+` (the `+0xoffset`; stackcollapse.pl's rule, kept as is). */
export function removeOffset(frame: string): string {
  const plus = frame.lastIndexOf("+");
  return plus === -1 ? frame : frame.slice(0, plus);
}

/**
 * Drops C++ argument and template lists: after the first `::`, everything from the last `(` or
 * `<` on (stackcollapse.pl replaces `(::.*)[(<].*` by its group). Names without `::` are left
 * alone, so C functions and `java_start(Thread*)` keep their text.
 */
export function stripCppArgs(frame: string): string {
  const scope = frame.indexOf("::");
  if (scope === -1) return frame;
  const cut = Math.max(frame.lastIndexOf("("), frame.lastIndexOf("<"));
  return cut >= scope + 2 ? frame.slice(0, cut) : frame;
}

/**
 * Repairs a Rust function name that DTrace demangled only halfway (see repairRustSymbol);
 * DTrace may leave spaces after the name. Other names are returned unchanged.
 */
export function fixRustSymbol(func: string): string {
  const name = func.trimEnd();
  const fixed = repairRustSymbol(name);
  return fixed === name ? func : fixed;
}

/**
 * Applies the Rust repair to the function part of `module`function` (or
 * `module`function+0xoffset` in include-offset mode, keeping the offset).
 */
export function fixRustFrame(frame: string, includeOffset: boolean): string {
  const tick = frame.indexOf("`");
  if (tick === -1) return frame;
  const module = frame.slice(0, tick + 1);
  const func = frame.slice(tick + 1);
  if (includeOffset) {
    const plus = func.lastIndexOf("+");
    if (plus !== -1) {
      const fixed = fixRustSymbol(func.slice(0, plus));
      return fixed === func.slice(0, plus) ? frame : `${module}${fixed}${func.slice(plus)}`;
    }
  }
  const fixed = fixRustSymbol(func);
  return fixed === func ? frame : module + fixed;
}

/**
 * Turns one frame line (leading and trailing space already trimmed) into the folded frames it
 * stands for, in root-to-leaf order: more than one when `->` joins inlined Java methods, the
 * inlined ones marked `_[i]`.
 */
export function foldFrame(line: string, includeOffset = false): string[] {
  let frame = includeOffset ? line : removeOffset(line);
  frame = stripCppArgs(frame);
  if (frame === "") return ["-"];
  frame = fixRustFrame(frame, includeOffset);
  const pieces = frame.split("->");
  return pieces.map((piece, i) => {
    // Java: `;` ends a class descriptor and would split the frame; `L` starts one. Like
    // stackcollapse.pl, one leading `L` goes whatever follows it.
    let func = piece.replaceAll(";", ":");
    if (func.startsWith("L")) func = func.slice(1);
    return i === 0 ? func : `${func}_[i]`;
  });
}

/** Removes the `+offset` of the leaf in include-offset mode, keeping an `_[i]` mark. */
function trimLeafOffset(leaf: string): string {
  if (leaf.endsWith("_[i]")) return removeOffset(leaf.slice(0, -4)) + "_[i]";
  return removeOffset(leaf);
}

/**
 * Folds DTrace aggregation output. Streaming: memory holds the unique stacks and the stack
 * being read, never the input.
 */
export class DtraceCollapser implements Collapser {
  readonly #includeOffset: boolean;
  readonly #stacks: FoldedStacks = new Map();
  readonly #warnings: string[] = [];
  readonly #splitter = new LineSplitter((line, lineNo) => this.#onLine(line, lineNo));
  #inHeader = true;
  #headerLines = 0;
  #firstLine = "";
  /** Folded frames of the stack being read, leaf first (the order DTrace prints them). */
  #frames: string[] = [];
  #groups = 0;
  #blankSinceFrame = false;
  #stackStart = 0;
  #samples = 0;
  #sawFrameLike = false;
  #emptyStacks = 0;
  /** Stacks left out because their count (or the sum with it) is too large for a number. */
  #tooLarge = 0;
  /** The sum of the counts (kept finite). */
  #total = 0;
  #nonDtraceLine = "";
  readonly #cache = new Map<string, string[]>();
  /** What each folded frame name is. */
  readonly #frameInfo = new Map<string, FrameInfo>();

  /** `includeOffset`: keep `+0xoffset` on every frame but the leaf. */
  constructor(options: DtraceOptions = {}) {
    this.#includeOffset = options.includeOffset ?? false;
  }

  /** Feeds decoded text; chunks may end anywhere. */
  push(chunk: string): void {
    this.#splitter.push(chunk);
  }

  /** Ends the input and returns the folded stacks. */
  finish(): CollapseResult {
    this.#splitter.end();
    if (this.#inHeader) this.#endedInHeader();
    if (this.#frames.length > 0) {
      if (this.#samples === 0 && !this.#sawFrameLike) this.#notDtrace();
      this.#warnings.push(
        `input ends in the middle of a stack (from line ${this.#stackStart}): ` +
          `that stack was left out, the input may have been cut short`,
      );
      this.#frames = [];
    }
    const long = skippedLinesWarning(this.#splitter);
    if (long !== undefined) this.#warnings.push(long);
    if (this.#emptyStacks > 0) {
      this.#warnings.push(
        `${this.#emptyStacks} stack${this.#emptyStacks === 1 ? "" : "s"} with no frames ` +
          `(a count with nothing above it) left out`,
      );
    }
    if (this.#tooLarge > 0) {
      this.#warnings.push(
        `${this.#tooLarge} stack${this.#tooLarge === 1 ? "" : "s"} with a count too large for ` +
          "a number left out",
      );
    }
    if (this.#samples === 0 && this.#warnings.length === 0) {
      this.#warnings.push("no stacks in the input: the output is empty");
    }
    return {
      stacks: this.#stacks,
      samples: this.#samples,
      warnings: this.#warnings,
      frames: this.#frameInfo,
    };
  }

  #onLine(line: string, lineNo: number): void {
    if (this.#inHeader && !this.#skipHeader(line, lineNo)) return;
    const text = line.trim();
    if (text === "") {
      if (this.#frames.length > 0) this.#blankSinceFrame = true;
      return;
    }
    const c = text.charCodeAt(0);
    if (c >= 48 && c <= 57 && DIGITS.test(text)) this.#endStack(Number(text));
    else this.#addFrame(text, lineNo);
  }

  /**
   * Header handling: returns false while the line belongs to the header. The header runs to
   * the first blank line, unless the input starts right away with a frame or a count (DTrace
   * run with `-q`, or a header cut off by hand).
   */
  #skipHeader(line: string, lineNo: number): boolean {
    if (lineNo === 1) {
      this.#firstLine = line;
      if (isFoldedLine(line.trim())) this.#foldedAlready(lineNo);
      if (looksLikeFrame(line) || isCountLine(line)) {
        this.#inHeader = false;
        return true;
      }
    }
    if (line.trim() === "") {
      this.#inHeader = false;
      return false;
    }
    if (++this.#headerLines > MAX_HEADER_LINES) this.#notDtrace();
    return false;
  }

  #endedInHeader(): void {
    if (this.#headerLines === 0) return; // empty input
    if (/^\s*CPU\s+ID\s+FUNCTION:NAME/.test(this.#firstLine)) {
      this.#warnings.push("the input holds only DTrace's header: no stacks were recorded");
      return;
    }
    this.#notDtrace();
  }

  #addFrame(text: string, lineNo: number): void {
    if (this.#frames.length === 0) {
      this.#stackStart = lineNo;
      this.#groups = 1;
    } else if (this.#blankSinceFrame) {
      this.#groups++;
    }
    this.#blankSinceFrame = false;
    if (this.#samples === 0) {
      if (isFoldedLine(text)) this.#foldedAlready(lineNo);
      if (looksLikeFrame(text)) this.#sawFrameLike = true;
      else if (this.#nonDtraceLine === "") this.#nonDtraceLine = text;
    }
    if (this.#groups > MAX_GROUPS || this.#frames.length >= MAX_FRAMES) this.#notDtrace();
    let pieces = this.#cache.get(text);
    if (pieces === undefined) {
      pieces = foldFrame(text, this.#includeOffset);
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(text, pieces);
      for (const piece of pieces) {
        if (!this.#frameInfo.has(piece)) this.#frameInfo.set(piece, describeDtraceFrame(piece));
      }
    }
    // Pieces are root-to-leaf; the stack is kept leaf first, so add them reversed.
    for (let i = pieces.length - 1; i >= 0; i--) this.#frames.push(pieces[i]);
  }

  #endStack(count: number): void {
    const frames = this.#frames;
    this.#frames = [];
    this.#blankSinceFrame = false;
    if (frames.length === 0) {
      this.#emptyStacks++;
      return;
    }
    const total = this.#total + count;
    if (total === Infinity) {
      this.#tooLarge++; // a count of hundreds of digits: no number holds it
      return;
    }
    this.#total = total;
    if (this.#includeOffset) frames[0] = trimLeafOffset(frames[0]);
    frames.reverse();
    addStack(this.#stacks, frames.join(";"), count);
    this.#samples++;
  }

  #foldedAlready(lineNo: number): never {
    throw new InputFormatError(
      `not DTrace output: line ${lineNo} is a folded stack already ('flame svg' draws those)`,
      lineNo,
    );
  }

  #notDtrace(): never {
    const example = this.#nonDtraceLine || this.#firstLine;
    const shown = example.length > 60 ? `${example.slice(0, 60)}...` : example;
    throw new InputFormatError(
      `not DTrace aggregation output (stacks of 'module\`function+0xoffset' lines, each ended ` +
        `by a count)${shown.trim() ? `; it has lines like '${shown.trim()}'` : ""}`,
    );
  }
}
