/**
 * The differential model behind `flame diff`: two folded profiles merged into
 * `stack BEFORE AFTER` lines (difffolded.pl's output), which the renderer draws with widths
 * from AFTER and colours from the change.
 */
import type { FoldedLine } from "./parse.ts";
import {
  addStack,
  compareCodePoints,
  type FoldedStacks,
  formatCount,
  totalCount,
} from "./stacks.ts";

/** One stack of a differential profile: its count in each input. */
export interface DiffLine {
  stack: string;
  before: number;
  after: number;
}

/** How two profiles are compared. */
export interface DiffOptions {
  /** Scale BEFORE's counts to AFTER's total, so only the shape of the profiles is compared. */
  normalize?: boolean;
  /** Read every hex number (`0x7f3a…`) as `0x...`, so stacks that differ only in addresses match. */
  stripHex?: boolean;
}

const HEX = /0x[0-9a-fA-F]+/g;
const SURROGATE = /[\ud800-\udfff]/;

/** Replaces every `0x…` hex number in `stack` by `0x...` (difffolded.pl's `-s`). */
export function stripHex(stack: string): string {
  return stack.replace(HEX, "0x...");
}

/**
 * Adds one folded line to `stacks`, keyed as the comparison will see it (hex stripped when
 * asked). A differential line counts with its AFTER column.
 */
export function addDiffInput(
  stacks: FoldedStacks,
  line: FoldedLine,
  options: DiffOptions = {},
): void {
  addStack(stacks, options.stripHex ? stripHex(line.stack) : line.stack, line.count);
}

/** Sums folded lines into stacks as `addDiffInput` keys them. */
export function sumDiffInput(lines: Iterable<FoldedLine>, options: DiffOptions = {}): FoldedStacks {
  const stacks: FoldedStacks = new Map();
  for (const line of lines) addDiffInput(stacks, line, options);
  return stacks;
}

/**
 * Scales a BEFORE count to AFTER's total, truncating to an integer as difffolded.pl does
 * (`int(count * totalAfter / totalBefore)`). Counts are unchanged when the totals are equal or
 * BEFORE's total is 0.
 */
export function normalizeCount(count: number, totalBefore: number, totalAfter: number): number {
  if (totalBefore === totalAfter || totalBefore === 0) return count;
  return Math.trunc((count * totalAfter) / totalBefore);
}

/**
 * Merges two profiles: one line per stack found in either (a side that lacks it counts 0),
 * sorted by stack in byte order. With `normalize`, BEFORE is scaled to AFTER's total.
 */
export function diffStacks(
  before: FoldedStacks,
  after: FoldedStacks,
  options: DiffOptions = {},
): DiffLine[] {
  const totalBefore = totalCount(before);
  const totalAfter = totalCount(after);
  const scale = options.normalize
    ? (n: number) => normalizeCount(n, totalBefore, totalAfter)
    : (n: number) => n;
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  // UTF-16 order is UTF-8 byte order unless a stack holds a supplementary-plane character.
  if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareCodePoints);
  else keys.sort();
  return keys.map((stack) => ({
    stack,
    before: scale(before.get(stack) ?? 0),
    after: after.get(stack) ?? 0,
  }));
}

/** Formats a diff line as difffolded.pl prints it: `stack BEFORE AFTER`. */
export function formatDiffLine(line: DiffLine): string {
  return `${line.stack} ${formatCount(line.before)} ${formatCount(line.after)}`;
}

/** The diff lines as folded lines for the renderer: width from AFTER, colour from the change. */
export function* diffToFolded(lines: Iterable<DiffLine>): Generator<FoldedLine> {
  for (const { stack, before, after } of lines) yield { stack, count: after, before };
}
