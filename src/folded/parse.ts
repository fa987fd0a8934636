/**
 * Reading folded input (`stack COUNT`, or `stack BEFORE AFTER` for a differential), the format
 * flamegraph.pl and difffolded.pl read.
 */
import { decodeChunks, type Input, LineSplitter } from "../io/input.ts";

/** One parsed folded line. `before` is set for two-count (differential) lines. */
export interface FoldedLine {
  stack: string;
  count: number;
  before?: number;
}

const COUNT = /^\d+(?:\.\d*)?$/;

function isCountChar(c: number): boolean {
  return (c >= 48 && c <= 57) || c === 46;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/** Splits `text` into what precedes its last whitespace-separated number and that number. */
function splitTrailingCount(text: string): [string, number] | undefined {
  let i = text.length - 1;
  // Walk back over digits and dots only: a stack has no count unless whitespace precedes them
  // (scanning back to any whitespace would walk most stacks, which rarely contain spaces).
  while (i >= 0 && isCountChar(text.charCodeAt(i))) i--;
  if (i < 0 || i === text.length - 1 || !isSpace(text.charCodeAt(i))) return undefined;
  const digits = text.slice(i + 1);
  if (!COUNT.test(digits)) return undefined;
  return [text.slice(0, i), Number(digits)];
}

/**
 * Parses one folded line, or returns undefined when it has no trailing count. A second trailing
 * number makes it differential: `stack BEFORE AFTER`.
 */
export function parseFoldedLine(line: string): FoldedLine | undefined {
  const last = splitTrailingCount(line);
  if (!last) return undefined;
  const [head, count] = last;
  const prev = splitTrailingCount(head);
  if (prev && prev[0] !== "") return { stack: prev[0], count, before: prev[1] };
  if (head === "") return undefined;
  return { stack: head, count };
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
}

/**
 * Streams the folded lines of `input` to `onLine`, skipping blank and `#` comment lines and
 * counting invalid ones. CRLF and LF read alike; invalid UTF-8 is replaced, never fatal.
 */
export async function readFolded(
  input: Input,
  onLine: (line: FoldedLine) => void,
): Promise<FoldedReadStats> {
  const stats: FoldedReadStats = { lines: 0, invalid: 0, firstInvalidLine: 0, differential: false };
  const splitter = new LineSplitter((text, lineNo) => {
    stats.lines = lineNo;
    if (text === "" || text.charCodeAt(0) === 35 /* # */ || text.trim() === "") return;
    const parsed = parseFoldedLine(text);
    if (!parsed) {
      if (stats.invalid++ === 0) stats.firstInvalidLine = lineNo;
      return;
    }
    if (parsed.before !== undefined) stats.differential = true;
    onLine(parsed);
  });
  for await (const chunk of decodeChunks(input.readable)) splitter.push(chunk);
  splitter.end();
  return stats;
}
