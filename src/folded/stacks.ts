/**
 * The folded-stack model shared by every stage: `frame;frame;leaf COUNT` lines, merged into a
 * map from stack to summed count.
 */
import type { TextSink } from "../io/output.ts";

/** Folded stacks: stack (frames root first, joined by `;`) to summed count. */
export type FoldedStacks = Map<string, number>;

/** Adds `count` to `stack`. */
export function addStack(stacks: FoldedStacks, stack: string, count: number): void {
  stacks.set(stack, (stacks.get(stack) ?? 0) + count);
}

/**
 * Formats a count as the Perl scripts print numbers: integers plainly, fractions with at most
 * 15 significant digits (Perl's `%.15g`).
 */
export function formatCount(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e15) return String(n);
  const p = n.toPrecision(15);
  if (p.includes("e")) {
    const [mantissa, exponent] = p.split("e");
    return `${trimZeros(mantissa)}e${exponent[0]}${exponent.slice(1).padStart(2, "0")}`;
  }
  return trimZeros(p);
}

function trimZeros(s: string): string {
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** Compares strings by Unicode code point, which is UTF-8 byte order (what `sort` and Perl use). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (supplementary planes) sort after every BMP character in UTF-8.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** The stacks sorted in byte order, as `[stack, count]` pairs. */
export function sortedStacks(stacks: FoldedStacks): [string, number][] {
  const keys = [...stacks.keys()];
  // UTF-16 order equals UTF-8 byte order unless a key holds a supplementary-plane character.
  if (keys.some((k) => SURROGATE.test(k))) keys.sort(compareCodePoints);
  else keys.sort();
  return keys.map((k) => [k, stacks.get(k)!]);
}

const SURROGATE = /[\ud800-\udfff]/;

/** Writes the stacks as sorted folded lines. */
export async function writeFolded(stacks: FoldedStacks, sink: TextSink): Promise<void> {
  let block = "";
  for (const [stack, count] of sortedStacks(stacks)) {
    block += `${stack} ${formatCount(count)}\n`;
    if (block.length > 1 << 16) {
      await sink.write(block);
      block = "";
    }
  }
  if (block) await sink.write(block);
}

/** The sum of all counts. */
export function totalCount(stacks: FoldedStacks): number {
  let total = 0;
  for (const count of stacks.values()) total += count;
  return total;
}
