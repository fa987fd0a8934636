/**
 * Telling input formats apart from the first few KB: `perf script` output, DTrace aggregation
 * output, or stacks that are already folded. Also the collapser for folded input, which merges
 * equal stacks so the output is sorted and unique like any other.
 */
import { LineSplitter, skippedLinesWarning } from "../io/input.ts";
import { hasCountTooLarge, parseFoldedLine } from "../folded/parse.ts";
import { addStack, type FoldedStacks } from "../folded/stacks.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";
import { parseEventHead, parseFrameLine, parseOneLineSample } from "./perf_lines.ts";

/** The formats `flame collapse` reads. */
export type InputFormat = "perf" | "dtrace" | "folded";

/** Lines looked at when detecting. */
const DETECT_LINES = 200;
/** Lines (not blank, not comments) that are enough to decide. */
const ENOUGH_LINES = 40;

/** True when `head` holds enough lines that are not comments for {@link detectFormat}. */
export function enoughToDetect(head: string): boolean {
  let n = 0;
  for (let start = 0; start < head.length;) {
    let end = head.indexOf("\n", start);
    if (end === -1) end = head.length;
    const c = head.charCodeAt(start);
    if (end > start && c !== 35 /* # */ && head.slice(start, end).trim() !== "") n++;
    if (n >= ENOUGH_LINES) return true;
    start = end + 1;
  }
  return false;
}

/** A DTrace frame: `module`function[+0xoffset]`, or a bare `0x` address. */
const DTRACE_FRAME = /^\s+(?:\S+`\S|0x[0-9a-fA-F]+(?:\+0x[0-9a-fA-F]+)?\s*$)/;
/** A DTrace count line: only digits. */
const DTRACE_COUNT = /^\s+\d+\s*$/;
/** The header DTrace prints for the probe that ended the aggregation. */
const DTRACE_HEADER = /^\s*CPU\s+ID\s+FUNCTION:NAME/;

/**
 * Detects the format of `head` (the start of an input), or returns undefined when it is none
 * of the three. The last line is ignored when `head` may have been cut inside it.
 */
export function detectFormat(head: string, complete = false): InputFormat | undefined {
  const lines = head.split("\n");
  if (!complete && lines.length > 1) lines.pop();
  let perf = 0;
  let perfFrames = 0;
  let dtraceFrames = 0;
  let dtraceCounts = 0;
  let folded = 0;
  let other = 0;
  let seen = 0;
  for (const raw of lines) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (++seen > DETECT_LINES) break;
    if (DTRACE_HEADER.test(line)) return "dtrace";
    if (isPerfHeader(line)) perf++;
    else if (isPerfFrame(line)) perfFrames++;
    else if (DTRACE_FRAME.test(line)) dtraceFrames++;
    else if (DTRACE_COUNT.test(line)) dtraceCounts++;
    else if (parseFoldedLine(line) !== undefined) folded++;
    else other++;
  }
  if (perf > 0 && perf + perfFrames >= dtraceFrames + folded) return "perf";
  if (dtraceFrames > 0 && dtraceCounts > 0) return "dtrace";
  if (folded > 0 && folded >= other) return "folded";
  return undefined;
}

/** A header (`comm pid ... event:`, old perf versions print no time) or a one-line sample. */
function isPerfHeader(line: string): boolean {
  if (parseEventHead(line) !== undefined && line.trimEnd().endsWith(":")) return true;
  return parseOneLineSample(line) !== undefined;
}

function isPerfFrame(line: string): boolean {
  const frame = parseFrameLine(line);
  return frame !== undefined && /^[0-9a-fA-F]+$/.test(frame.pc);
}

/**
 * Reads folded stacks (`frame;frame COUNT`) and merges equal ones. Fractional counts are kept;
 * for a two-count (differential) line the second count is used.
 */
export class FoldedCollapser implements Collapser {
  readonly #stacks: FoldedStacks = new Map();
  #samples = 0;
  #invalid = 0;
  #firstInvalid: { lineNo: number; text: string } | undefined;
  #differential = 0;
  /** Lines whose count (or the sum with it) is too large for a number, and the first. */
  #tooLarge = 0;
  #firstTooLarge = 0;
  /** The sum of the counts read (kept finite). */
  #total = 0;
  readonly #splitter = new LineSplitter((line, lineNo) => this.#line(line, lineNo));

  /** Feeds decoded text. */
  push(chunk: string): void {
    this.#splitter.push(chunk);
  }

  /** Ends the input. Throws InputFormatError when no line was a folded stack. */
  finish(): CollapseResult {
    this.#splitter.end();
    const warnings: string[] = [];
    if (this.#samples === 0 && this.#firstInvalid !== undefined) {
      const { lineNo, text } = this.#firstInvalid;
      throw new InputFormatError(
        `does not look like folded stacks (line ${lineNo}: ${JSON.stringify(text.slice(0, 80))})`,
        lineNo,
      );
    }
    if (this.#invalid !== 0 && this.#firstInvalid !== undefined) {
      warnings.push(
        `${this.#invalid} line${this.#invalid === 1 ? "" : "s"} without a count skipped, ` +
          `the first at line ${this.#firstInvalid.lineNo}`,
      );
    }
    if (this.#tooLarge !== 0) {
      warnings.push(
        `${this.#tooLarge} line${this.#tooLarge === 1 ? "" : "s"} with a count too large for a ` +
          `number skipped, the first at line ${this.#firstTooLarge}`,
      );
    }
    const long = skippedLinesWarning(this.#splitter);
    if (long !== undefined) warnings.push(long);
    if (this.#differential !== 0) {
      warnings.push(
        `${this.#differential} lines have two counts (a differential file): kept the second`,
      );
    }
    if (this.#samples === 0) warnings.push("no stacks in the input: the output is empty");
    // Folded names carry no module: their kinds are left unknown.
    return { stacks: this.#stacks, samples: this.#samples, warnings, frames: new Map() };
  }

  #line(text: string, lineNo: number): void {
    if (text === "" || text.startsWith("#") || text.trim() === "") return;
    const parsed = parseFoldedLine(text);
    if (parsed === undefined) {
      if (hasCountTooLarge(text)) this.#large(lineNo);
      else if (this.#invalid++ === 0) this.#firstInvalid = { lineNo, text: text.slice(0, 100) };
      return;
    }
    const total = this.#total + parsed.count;
    if (total === Infinity) {
      this.#large(lineNo);
      return;
    }
    this.#total = total;
    if (parsed.before !== undefined) this.#differential++;
    addStack(this.#stacks, parsed.stack, parsed.count);
    this.#samples++;
  }

  #large(lineNo: number): void {
    if (this.#tooLarge++ === 0) this.#firstTooLarge = lineNo;
  }
}
