/**
 * Merging folded stacks into a frame tree, kept as flat arrays in pre-order (parents before
 * children, siblings left to right), with each frame's position in integer count units.
 *
 * Stacks are sorted (see compareStacks), then each stack shares its prefix with the one before:
 * equal stacks merge and only new frames are sliced. Input that is already sorted (collapsers
 * write it so) is not sorted again.
 */
import type { FoldedLine } from "../folded/parse.ts";

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
  /** Frame names (the root is "all"). */
  names: string[];
  /** Depth of each frame: 0 for the root. */
  depth: number[];
  /** Left edge, in units from the left of the root. */
  start: number[];
  /** Width in units. */
  width: number[];
  /** Index just past the frame's subtree (its next sibling, if any). */
  end: number[];
  /** Self delta (after - before) of a differential, per frame; undefined otherwise. */
  delta: number[] | undefined;
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

/** The lines' stacks and counts, in input order. */
interface Collected {
  stacks: string[];
  counts: number[];
  befores: number[] | undefined;
  maxDecimals: number;
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

/** Reads the lines; equal stacks are merged later, when they sit side by side. */
function collect(lines: Iterable<FoldedLine>, reverse: boolean): Collected {
  const stacks: string[] = [];
  const counts: number[] = [];
  let befores: number[] | undefined;
  let maxDecimals = 0;
  for (const line of lines) {
    const count = line.count;
    const before = line.before;
    if (!(count > 0) && !(before !== undefined && before > 0)) continue;
    if (!Number.isInteger(count)) maxDecimals = Math.max(maxDecimals, decimalsOf(count));
    if (before !== undefined) {
      befores ??= new Array(stacks.length).fill(0);
      if (!Number.isInteger(before)) maxDecimals = Math.max(maxDecimals, decimalsOf(before));
    }
    stacks.push(reverse ? line.stack.split(SEMI).reverse().join(SEMI) : line.stack);
    counts.push(count);
    befores?.push(before ?? 0);
  }
  return { stacks, counts, befores, maxDecimals };
}

/** How counts become integer units: `units = count * pow10 / gcd`. */
export interface UnitScale {
  /** A power of ten that makes fractional counts whole. */
  pow10: number;
  /** The greatest common divisor of the whole counts (perf periods often share one). */
  gcd: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
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
  let sum = 0;
  for (const c of counts) sum += c;
  if (befores) {
    let sumBefore = 0;
    for (const b of befores) sumBefore += b;
    sum = Math.max(sum, sumBefore);
  }
  let d = decimals;
  while (d > 0 && sum * 10 ** d > Number.MAX_SAFE_INTEGER) d--;
  const pow10 = 10 ** d;
  let g = 0;
  for (const list of [counts, befores ?? []]) {
    for (const c of list) {
      if (c <= 0) continue;
      g = gcd(Math.round(c * pow10), g);
      if (g === 1) return { pow10, gcd: 1 };
    }
  }
  return { pow10, gcd: g || 1 };
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

/** Merges folded lines into a frame tree. Lines with no positive count are skipped. */
export function buildTree(lines: Iterable<FoldedLine>, opts: TreeOptions = {}): FrameTree {
  const c = collect(lines, opts.reverse === true);
  const scale = unitScale(c.counts, c.befores, c.maxDecimals);
  const n = c.stacks.length;
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const stacks = c.stacks;
  if (!opts.flamechart) {
    // Collapsers write sorted output: check before sorting.
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = compareStacks(stacks[i - 1], stacks[i]) <= 0;
    if (!sorted) order.sort((x, y) => compareStacks(stacks[x], stacks[y]));
  }
  return merge(c, order, scale);
}

/** True when `key` and `prev` agree up to `e`, where `prev` ends a frame and so does `key`. */
function sharesPrefix(key: string, prev: string, e: number): boolean {
  return (e === key.length || key.charCodeAt(e) === 59) &&
    key.substring(0, e) === prev.substring(0, e);
}

/**
 * Builds the tree from stacks taken in `order`, each sharing its prefix with the one before
 * (only neighbours merge, so a flame chart keeps input order).
 */
function merge(c: Collected, order: number[], { pow10, gcd }: UnitScale): FrameTree {
  const plain = pow10 === 1 && gcd === 1;
  const { stacks: keys, counts, befores } = c;
  const names = ["all"];
  const depth = [0];
  const start = [0];
  const width = [0];
  const end = [0];
  const delta: number[] | undefined = befores ? [0] : undefined;
  const path = [0]; // open frames, root first
  let cursor = 0;
  let maxDepth = 0;
  let prev: string | undefined;

  const close = (to: number) => {
    while (path.length > to) {
      const f = path.pop()!;
      width[f] = cursor - start[f];
      end[f] = names.length;
    }
  };

  // ends[d]: where frame d of the previous stack ends (exclusive); frame d+1 starts after it.
  const ends = [0];
  for (const k of order) {
    const key = keys[k];
    const units = plain ? counts[k] : Math.round(counts[k] * pow10) / gcd;
    const open = path.length - 1; // frames of the previous stack
    // The longest run of whole frames shared with the previous stack, by binary search with
    // native substring comparisons (a character loop in JS costs more than everything else;
    // startsWith is slower still).
    let good = 0; // frames known shared
    if (prev !== undefined && open > 0) {
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
    const shared = good;
    close(shared + 1);
    let pos = shared === 0 ? 0 : ends[shared] + 1;
    let d = shared + 1;
    if (shared > 0 && ends[shared] === key.length) pos = -1; // the whole stack is shared
    while (pos !== -1) {
      let next = key.indexOf(SEMI, pos);
      if (next === -1) next = key.length;
      const f = names.length;
      names.push(key.slice(pos, next));
      depth.push(d);
      start.push(cursor);
      width.push(0);
      end.push(0);
      delta?.push(0);
      path.push(f);
      ends[d] = next;
      if (d > maxDepth) maxDepth = d;
      d++;
      pos = next === key.length ? -1 : next + 1;
    }
    if (delta && befores) {
      const b = plain ? befores[k] : Math.round(befores[k] * pow10) / gcd;
      delta[path[path.length - 1]] += units - b;
    }
    cursor += units;
    prev = key;
  }
  close(1);
  width[0] = cursor;
  end[0] = names.length;
  return {
    names,
    depth,
    start,
    width,
    end,
    delta,
    scale: pow10 / gcd,
    pow10,
    gcd,
    total: cursor,
    maxDepth,
  };
}
