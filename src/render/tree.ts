/**
 * Merging folded stacks into a frame tree, kept as flat arrays in pre-order (parents before
 * children, siblings left to right), with each frame's position in integer count units.
 *
 * Stacks are sorted (see compareStacks), then each stack shares its prefix with the one before:
 * equal stacks merge and only new frames are added. Input that is already sorted (collapsers
 * write it so) is not sorted again. The code is written for a single cold run (the CLI's case):
 * typed columns, index loops, no object or string per frame.
 */
import type { FoldedLine, FoldedSink } from "../folded/parse.ts";

/** The frame separator of folded stacks. */
const SEMI = ";";

/** How to merge the stacks. */
export interface TreeOptions {
  /** Reverse each stack first (frames merge from the leaf). */
  reverse?: boolean;
  /** Keep input order; only adjacent stacks merge. */
  flamechart?: boolean;
}

/** The merged frames, as parallel arrays indexed by frame (0 is the root, "all"). */
export interface FrameTree {
  /** The number of frames, the root included. */
  size: number;
  /**
   * A frame's name (the root's is "all"). Names are cut from the stacks on demand: most frames
   * of a large profile are too narrow to draw and never need theirs.
   */
  name(frame: number): string;
  /** Depth of each frame: 0 for the root. */
  depth: Int32Array;
  /** Left edge, in units from the left of the root. */
  start: Float64Array;
  /** Width in units. */
  width: Float64Array;
  /** Index just past the frame's subtree (its next sibling, if any). */
  end: Int32Array;
  /** Self delta (after - before) of a differential, per frame; undefined otherwise. */
  delta: Float64Array | undefined;
  /** Units per count (`pow10 / gcd`). */
  scale: number;
  /** Counts become units as `count * pow10 / gcd`. */
  pow10: number;
  gcd: number;
  /** The sum of all counts, in units. */
  total: number;
  /** The deepest frame's depth. */
  maxDepth: number;
}

/** The number of decimals a count needs (at most 6). */
export function decimalsOf(n: number): number {
  if (Number.isInteger(n)) return 0;
  for (let d = 1; d <= 6; d++) {
    const m = n * 10 ** d;
    if (Math.abs(m - Math.round(m)) < 1e-9 * Math.max(1, Math.abs(m))) return d;
  }
  return 6;
}

/**
 * Folded lines gathered for merging, as columns: one object per line would cost more than the
 * rest of reading. Lines with no positive count are left out. Pass it to `readFoldedInto`.
 */
export class StackColumns implements FoldedSink {
  /** The stacks, in input order. */
  readonly stacks: string[] = [];
  /** Each stack's count (AFTER for a differential). */
  readonly counts: number[] = [];
  /** BEFORE counts, once a differential line came (0 for the lines before it). */
  befores: number[] | undefined;
  /** The most decimals a count has (at most 6). */
  maxDecimals = 0;
  /** True while no stack sorts before the one added before it (see compareStacks). */
  sorted = true;
  /** Lines added, those left out included. */
  lines = 0;

  /** Adds one folded line. */
  add(stack: string, count: number, before: number | undefined): void {
    this.lines++;
    if (!(count > 0) && !(before !== undefined && before > 0)) return;
    if (!Number.isInteger(count)) this.maxDecimals = Math.max(this.maxDecimals, decimalsOf(count));
    const n = this.stacks.length;
    if (before !== undefined) {
      this.befores ??= new Array(n).fill(0);
      if (!Number.isInteger(before)) {
        this.maxDecimals = Math.max(this.maxDecimals, decimalsOf(before));
      }
    }
    // Collapsers write sorted output: checking as lines come saves sorting them.
    if (this.sorted && n > 0 && compareStacks(this.stacks[n - 1], stack) > 0) this.sorted = false;
    this.stacks.push(stack);
    this.counts.push(count);
    if (this.befores) this.befores.push(before ?? 0);
  }
}

/** The lines as columns. */
function columnsOf(lines: Iterable<FoldedLine>): StackColumns {
  const columns = new StackColumns();
  for (const line of lines) columns.add(line.stack, line.count, line.before);
  return columns;
}

/** How counts become integer units: `units = count * pow10 / gcd`. */
export interface UnitScale {
  /** A power of ten that makes fractional counts whole. */
  pow10: number;
  /** The greatest common divisor of the whole counts (perf periods often share one). */
  gcd: number;
}

function gcd(a: number, b: number): number {
  while (b) {
    const r = a % b;
    a = b;
    b = r;
  }
  return a;
}

/**
 * Finds the unit: 10^decimals (fewer if the total would stop being an exact double), divided
 * by the counts' common divisor so positions stay small (and exact in the browser more often).
 */
export function unitScale(
  counts: number[],
  befores: number[] | undefined,
  decimals: number,
): UnitScale {
  const sum = befores ? Math.max(sumOf(counts), sumOf(befores)) : sumOf(counts);
  let d = decimals;
  while (d > 0 && sum * 10 ** d > Number.MAX_SAFE_INTEGER) d--;
  const pow10 = 10 ** d;
  const g = gcdOf(befores ?? [], pow10, gcdOf(counts, pow10, 0));
  return { pow10, gcd: g || 1 };
}

function sumOf(xs: number[]): number {
  let sum = 0;
  for (let i = 0; i < xs.length; i++) sum += xs[i];
  return sum;
}

/** The gcd of `g` and the positive counts in units of 1/pow10 (1 as soon as it is 1). */
function gcdOf(counts: number[], pow10: number, g: number): number {
  for (let i = 0; i < counts.length && g !== 1; i++) {
    if (counts[i] > 0) g = gcd(Math.round(counts[i] * pow10), g);
  }
  return g;
}

/**
 * Compares two stacks as if each ended with ";": plain character order, except that a stack
 * that is a prefix of another ("f") sorts as "f;". Then every stack through a frame is
 * contiguous ("f" self time cannot be cut off from "f;g" by "f2;h"), and siblings are ordered by
 * name + ";" (like flamegraph.pl's line sort, but never splitting a function in two).
 */
export function compareStacks(a: string, b: string): number {
  if (a === b) return 0;
  // One native comparison; the prefix case only matters when the longer stack continues with
  // a character below ';' (then the shorter, read as "f;", sorts after it).
  if (a < b) {
    return b.length > a.length && b.charCodeAt(a.length) < 59 && b.substring(0, a.length) === a
      ? 1
      : -1;
  }
  return a.length > b.length && a.charCodeAt(b.length) < 59 && a.substring(0, b.length) === b
    ? -1
    : 1;
}

/** A stack with its frames in reverse order. */
function reversed(stack: string): string {
  return stack.split(SEMI).reverse().join(SEMI);
}

/** Whether `stacks` are in compareStacks order. */
function isSorted(stacks: string[]): boolean {
  for (let i = 1; i < stacks.length; i++) {
    if (compareStacks(stacks[i - 1], stacks[i]) > 0) return false;
  }
  return true;
}

/** The columns in compareStacks order (a stable sort: equal stacks keep their order). */
function sortedColumns(
  stacks: string[],
  counts: number[],
  befores: number[] | undefined,
): { stacks: string[]; counts: number[]; befores: number[] | undefined } {
  const order = stacks.map((_, i) => i).sort((x, y) => compareStacks(stacks[x], stacks[y]));
  return {
    stacks: order.map((i) => stacks[i]),
    counts: order.map((i) => counts[i]),
    befores: befores && order.map((i) => befores[i]),
  };
}

/**
 * Merges folded lines (objects, or columns as `readFoldedInto` fills them) into a frame tree.
 * Lines with no positive count are skipped.
 */
export function buildTree(
  lines: Iterable<FoldedLine> | StackColumns,
  opts: TreeOptions = {},
): FrameTree {
  const columns = lines instanceof StackColumns ? lines : columnsOf(lines);
  let { stacks, counts, befores, sorted } = columns;
  if (opts.reverse) {
    stacks = stacks.map(reversed);
    sorted = isSorted(stacks);
  }
  const scale = unitScale(counts, befores, columns.maxDecimals);
  if (!opts.flamechart && !sorted) {
    ({ stacks, counts, befores } = sortedColumns(stacks, counts, befores));
  }
  return merge(stacks, counts, befores, scale);
}

/** True when `key` and `prev` agree up to `e`, where `prev` ends a frame and so does `key`. */
function sharesPrefix(key: string, prev: string, e: number): boolean {
  return (e === key.length || key.charCodeAt(e) === 59) &&
    key.substring(0, e) === prev.substring(0, e);
}

/** The frame name that starts at `from` in `stack`. */
function frameName(stack: string, from: number): string {
  const to = stack.indexOf(SEMI, from);
  return stack.slice(from, to === -1 ? stack.length : to);
}

/** A copy of `a` with room for `size` elements. */
function grown<T extends Int32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * Builds the tree from the stacks in order, each sharing its prefix with the one before (only
 * neighbours merge, so a flame chart keeps input order).
 */
function merge(
  keys: string[],
  counts: number[],
  befores: number[] | undefined,
  { pow10, gcd }: UnitScale,
): FrameTree {
  const plain = pow10 === 1 && gcd === 1;
  // Typed columns, grown by doubling: no per-frame objects and no array growth in the loop.
  let cap = 64 + 4 * keys.length;
  let depth = new Int32Array(cap);
  let start = new Float64Array(cap);
  let width = new Float64Array(cap);
  let end = new Int32Array(cap);
  let delta = befores ? new Float64Array(cap) : undefined;
  // Frame f's name starts at nameFrom[f] in keys[nameKey[f]] and runs to the next ';'.
  let nameKey = new Int32Array(cap);
  let nameFrom = new Int32Array(cap);
  let n = 1; // frames so far
  // path[d]: the open frame at depth d of the previous stack; ends[d]: where its name ends in
  // that stack (exclusive); frame d+1 starts after it.
  const path = [0];
  const ends = [0];
  let open = 0; // the previous stack's depth
  let cursor = 0;
  let maxDepth = 0;
  let prev = "";

  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    const units = plain ? counts[k] : Math.round(counts[k] * pow10) / gcd;
    // The longest run of whole frames shared with the previous stack, by binary search with
    // native substring comparisons (a character loop in JS costs more than everything else;
    // startsWith is slower still).
    let good = 0; // frames known shared
    if (open > 0) {
      // Sorted neighbours usually differ near the leaf: gallop down from the top, then bisect
      // between the deepest depth known shared and the shallowest known not.
      let bad = open + 1;
      let step = 1;
      for (let d = open; d > good; d = Math.max(good, bad - step), step *= 2) {
        if (sharesPrefix(key, prev, ends[d])) {
          good = d;
          break;
        }
        bad = d;
      }
      while (bad - good > 1) {
        const mid = (good + bad) >> 1;
        if (sharesPrefix(key, prev, ends[mid])) good = mid;
        else bad = mid;
      }
    }
    // Close the previous stack's frames below the shared ones.
    for (let d = open; d > good; d--) {
      const f = path[d];
      width[f] = cursor - start[f];
      end[f] = n;
    }
    let d = good;
    // Open the new ones, unless the whole stack is shared.
    if (good === 0 || ends[good] !== key.length) {
      let pos = good === 0 ? 0 : ends[good] + 1;
      for (;;) {
        let next = key.indexOf(SEMI, pos);
        if (next === -1) next = key.length;
        if (n === cap) {
          cap *= 2;
          depth = grown(depth, cap);
          start = grown(start, cap);
          width = grown(width, cap);
          end = grown(end, cap);
          if (delta) delta = grown(delta, cap);
          nameKey = grown(nameKey, cap);
          nameFrom = grown(nameFrom, cap);
        }
        d++;
        nameKey[n] = k;
        nameFrom[n] = pos;
        depth[n] = d;
        start[n] = cursor;
        path[d] = n;
        ends[d] = next;
        n++;
        if (next === key.length) break;
        pos = next + 1;
      }
      if (d > maxDepth) maxDepth = d;
    }
    if (delta && befores) {
      const b = plain ? befores[k] : Math.round(befores[k] * pow10) / gcd;
      delta[path[d]] += units - b;
    }
    open = d;
    cursor += units;
    prev = key;
  }
  for (let d = open; d > 0; d--) {
    const f = path[d];
    width[f] = cursor - start[f];
    end[f] = n;
  }
  width[0] = cursor;
  end[0] = n;
  return {
    size: n,
    name: (f) => f === 0 ? "all" : frameName(keys[nameKey[f]], nameFrom[f]),
    depth: depth.subarray(0, n),
    start: start.subarray(0, n),
    width: width.subarray(0, n),
    end: end.subarray(0, n),
    delta: delta?.subarray(0, n),
    scale: pow10 / gcd,
    pow10,
    gcd,
    total: cursor,
    maxDepth,
  };
}
