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
 * Formats a count as a plain decimal, the only form the folded readers (flame's and the Perl
 * scripts': `\d+(?:\.\d*)?`) take, never with an exponent: integers exactly (`1e20` is
 * `100000000000000000000`), fractions with at most 15 significant digits as Perl prints them
 * (`%.15g`), written out (`1e-7` is `0.0000001`). What flame writes, it reads back as the same
 * integers. Counts are finite and not negative (the readers take no other).
 */
export function formatCount(n: number): string {
  if (Number.isInteger(n)) return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
  return trimZeros(plainDecimal(n.toPrecision(15)));
}

/** `1.5e-7` → `0.00000015`, `1.2e+21` → `1200000000000000000000`; other numbers unchanged. */
function plainDecimal(s: string): string {
  const e = s.indexOf("e");
  if (e === -1) return s;
  const sign = s.startsWith("-") ? "-" : "";
  const mantissa = s.slice(sign.length, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Where the decimal point goes in `digits`.
  const point = (dot === -1 ? mantissa.length : dot) + exponent;
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
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
