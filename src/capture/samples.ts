/**
 * A pass over the `perf script` text on its way to the perf collapser, one sample at a time:
 * it notes each sample's PID (for cleanup) and what its stack says about truncation (for the
 * diagnosis), and rewrites stacks that hold CPython or V8 frames into readable ones (the Python
 * and V8 frame transforms), so the collapser sees ordinary perf text and keeps its fast,
 * block-cached path. Distinct stacks are worked out once: a run repeats the same few hundred
 * stacks thousands of times.
 *
 * Renamed frames may hold parentheses (`fib (work.py)`), which the collapser would take for an
 * argument list and cut; they travel as private-use characters and `restoreNames` puts the
 * parentheses back in the folded stacks.
 */
import { parseFrameLine } from "../collapse/perf_lines.ts";
import { stripOffset } from "../collapse/perf_symbols.ts";
import { collapsePythonFrames } from "../collapse/python.ts";
import { tidyV8Frames } from "../collapse/node.ts";
import type { FoldedStacks } from "../folded/stacks.ts";
import { StackStats, type StackSummary, summarizeStack } from "./diagnose.ts";
import { parseHeaderLine } from "./pids.ts";

const OPEN = "\uE000";
const CLOSE = "\uE001";

/** A frame of one block: the line it came from, and its parsed symbol and module. */
interface BlockFrame {
  sym: string;
  module: string;
  /** Index of its line in the block. */
  line: number;
  pc: string;
}

/** What a distinct block of frame lines becomes. */
interface BlockResult {
  /** The rewritten block, or undefined when it stays as it is. */
  text: string | undefined;
  summary: StackSummary;
}

/** Distinct blocks kept before the cache is emptied (its keys hold the blocks' text). */
const CACHE_CHARS = 1 << 25;
/** A frame line's address (the first word), and the indent before it. */
const ADDRESS = /^(?<indent>[ \t]*)[0-9a-fA-F]+ /gm;

/** Distinct frame lines kept. */
const LINE_CACHE_ENTRIES = 200_000;

/** Splits, inspects and rewrites `perf script` text, sample by sample. */
export class SampleStream {
  /** Sample headers seen. */
  samples = 0;
  /** Times (seconds) of the first and last sample. */
  firstTime = Infinity;
  lastTime = -Infinity;
  readonly stats: StackStats;
  #carry = "";
  #cache = new Map<string, BlockResult>();
  #cacheChars = 0;
  #lines = new Map<string, { sym: string; module: string; pc: string } | null>();

  /**
   * `rewrite`: apply the Python and V8 frame transforms (off for --raw-frames). `pids` collects
   * the PIDs seen (a set shared by parallel slices may be passed). Unless `keepAddresses`
   * (needed for the collapser's --addrs), frame addresses are replaced by `0`: the folded
   * stacks do not show them, and without them a stack repeats as the same text, so both this
   * pass and the collapser work on each distinct stack once (JIT and interpreter leaves land
   * on ever new addresses).
   */
  constructor(
    readonly rewrite: boolean,
    maxStack: number,
    readonly pids: Set<number> = new Set(),
    readonly keepAddresses = false,
  ) {
    this.stats = new StackStats(maxStack);
  }

  /** Takes a chunk (ending anywhere) and returns the text to hand to the collapser. */
  push(chunk: string): string {
    const text = this.#carry === "" ? chunk : this.#carry + chunk;
    const cut = this.#lastSampleEnd(text);
    this.#carry = text.slice(cut);
    return this.#process(text, cut);
  }

  /** Ends the input; returns the last text for the collapser. */
  end(): string {
    const text = this.#carry;
    this.#carry = "";
    return this.#process(text, text.length);
  }

  /** Where the last complete sample of `text` ends (after its blank line), or 0. */
  #lastSampleEnd(text: string): number {
    const i = text.lastIndexOf("\n\n");
    return i === -1 ? 0 : i + 2;
  }

  /** Processes `text[0, end)`, which ends at a sample boundary (or the input's end). */
  #process(text: string, end: number): string {
    if (end === 0) return "";
    let out: string[] | undefined;
    let copied = 0;
    let pos = 0;
    while (pos < end) {
      // A header starts at a line that is not indented; its block ends at the next blank line.
      const eol = text.indexOf("\n", pos);
      if (eol === -1 || eol >= end) break;
      const c = text.charCodeAt(pos);
      if (c === 9 || c === 32 || c === 10 || c === 35 /* # */) {
        pos = eol + 1;
        continue;
      }
      let stop = text.indexOf("\n\n", eol);
      if (stop === -1 || stop >= end) stop = text.charCodeAt(end - 1) === 10 ? end - 1 : end;
      const header = parseHeaderLine(text.slice(pos, eol));
      if (header === undefined) {
        pos = eol + 1;
        continue;
      }
      this.samples++;
      this.pids.add(header.pid);
      if (header.time < this.firstTime) this.firstTime = header.time;
      if (header.time > this.lastTime) this.lastTime = header.time;
      const blockStart = eol + 1;
      let block = blockStart <= stop ? text.slice(blockStart, stop) : "";
      const canonical = !this.keepAddresses && block !== "";
      if (canonical) block = block.replace(ADDRESS, "$<indent>0 ");
      const result = this.#block(block);
      this.stats.add(result.summary);
      if (result.text !== undefined || canonical) {
        out ??= [];
        out.push(text.slice(copied, blockStart), result.text ?? block);
        copied = stop;
      }
      pos = stop + 1;
    }
    if (out === undefined) return end === text.length ? text : text.slice(0, end);
    out.push(text.slice(copied, end));
    return out.join("");
  }

  #block(block: string): BlockResult {
    let r = this.#cache.get(block);
    if (r === undefined) {
      r = this.#work(block);
      if (this.#cacheChars + block.length > CACHE_CHARS) {
        this.#cache.clear();
        this.#cacheChars = 0;
      }
      this.#cache.set(block, r);
      this.#cacheChars += block.length;
    }
    return r;
  }

  #work(block: string): BlockResult {
    const lines = block === "" ? [] : block.split("\n");
    const frames: BlockFrame[] = [];
    for (let i = 0; i < lines.length; i++) {
      const f = this.#frame(lines[i]);
      if (f) frames.push({ sym: f.sym, module: f.module, line: i, pc: f.pc });
    }
    // An inlined frame belongs to the module of the next real frame towards the root.
    let outer = "inlined";
    for (let i = frames.length - 1; i >= 0; i--) {
      if (frames[i].module === "inlined") frames[i].module = outer;
      else outer = frames[i].module;
    }
    const summary = summarizeStack(frames);
    if (!this.rewrite || !frames.some(mayRewrite)) return { text: undefined, summary };
    const kept = collapsePythonFrames(tidyV8Frames(frames));
    if (kept === frames) return { text: undefined, summary };
    const untouched = new Set(frames);
    const out = kept.map((f) => {
      if (untouched.has(f)) return lines[f.line];
      // A renamed frame: a new line with perf's address and module (the `(module)` tail).
      const line = lines[f.line];
      return `\t${f.pc} ${encodeName(f.sym)}${line.slice(line.lastIndexOf(" ("))}`;
    });
    return { text: out.join("\n"), summary };
  }

  /** A frame line parsed (cached: in JIT-heavy stacks the same lines recur in new blocks). */
  #frame(line: string): { sym: string; module: string; pc: string } | undefined {
    let f = this.#lines.get(line);
    if (f === undefined) {
      const parsed = parseFrameLine(line);
      f = parsed ? { sym: stripOffset(parsed.sym), module: parsed.module, pc: parsed.pc } : null;
      if (this.#lines.size >= LINE_CACHE_ENTRIES) this.#lines.clear();
      this.#lines.set(line, f);
    }
    return f ?? undefined;
  }
}

function mayRewrite(f: BlockFrame): boolean {
  return f.sym.startsWith("py::") || f.sym.includes(":");
}

/** Parentheses in a renamed frame, hidden from the collapser's argument-list cut. */
export function encodeName(name: string): string {
  return name.replaceAll("(", OPEN).replaceAll(")", CLOSE);
}

/** Puts back the parentheses of renamed frames in folded stacks (in place). */
export function restoreNames(stacks: FoldedStacks): FoldedStacks {
  const renamed: [string, number][] = [];
  for (const [stack, count] of stacks) {
    if (stack.includes(OPEN) || stack.includes(CLOSE)) renamed.push([stack, count]);
  }
  for (const [stack, count] of renamed) {
    stacks.delete(stack);
    const name = stack.replaceAll(OPEN, "(").replaceAll(CLOSE, ")");
    stacks.set(name, (stacks.get(name) ?? 0) + count);
  }
  return stacks;
}
