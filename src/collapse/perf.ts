/**
 * The `perf script` collapser: folds perf's text output into folded stacks with
 * stackcollapse-perf.pl's semantics, byte for byte, plus the fixes listed in the conformance
 * README (top-level `(` cut, Rust repair, jitted-*.so is JIT, vmlinux-<ver> and .ko are kernel,
 * one-line samples folded, --srcline reads only real source lines). One more: Perl drops every
 * symbol that starts with `(` (meant for process names), which loses all C++ functions in an
 * `(anonymous namespace)`; flame keeps those.
 *
 * It streams: text is pushed in chunks of any size and memory holds the distinct stacks, bounded
 * caches and at most one sample of text. The parts, in the order the text goes through them:
 * - perf_scan.ts cuts the text into whole samples and lines;
 * - perf_blocks.ts reads whole samples fast, perf_perl.ts reads the rest line by line with
 *   Perl's state machine (perf_lines.ts recognises the lines, perf_events.ts filters events);
 * - both walk each sample down one tree of distinct stacks of distinct frames (perf_stacks.ts,
 *   perf_state.ts): nothing is tidied or joined per sample;
 * - at the end perf_fold.ts folds each distinct frame once (perf_symbols.ts, perf_inline.ts)
 *   and each distinct stack once, and describes each folded name (frames.ts).
 */
import type { FrameInfo } from "../profile/profile.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";
import { MAX_LINE_CHARS } from "../io/input.ts";
import { CACHE_CHARS } from "./cache.ts";
import { InlineResolver, type RunTool } from "./perf_inline.ts";
import { BlockReader } from "./perf_blocks.ts";
import { type FoldOptions, StackFolder } from "./perf_fold.ts";
import { LineReader } from "./perf_perl.ts";
import { PerfScanner } from "./perf_scan.ts";
import { FrameTable } from "./perf_stacks.ts";
import { excerpt, type PerfClock, PerfState, type ReadOptions } from "./perf_state.ts";

export { type RawFrame, rawFramesOf } from "./perf_fold.ts";
export type { StackNode } from "./perf_stacks.ts";

/** Options of the perf collapser: stackcollapse-perf.pl's, by the same names, and hooks. */
export interface PerfOptions extends ReadOptions, FoldOptions {
  /** Expand inlined functions with addr2line. */
  inline: boolean;
  /** With `inline`, append `:file:line` to each frame. */
  context: boolean;
  /** The input is `perf script -F+srcline`: append each frame's source line. */
  srcline: boolean;
  /** Read every sample line by line, as stackcollapse-perf.pl does (slower; tests). */
  lineByLine?: boolean;
  /** How addr2line and nm are run (tests). */
  runTool?: RunTool;
  /**
   * Characters of text each cache may hold (default 2 Mi). Memory stays bounded whatever the
   * input; tests set it small.
   */
  cacheChars?: number;
}

const DEFAULTS: PerfOptions = {
  pid: false,
  tid: false,
  kernel: false,
  jit: false,
  addrs: false,
  inline: false,
  context: false,
  srcline: false,
};

/** Folds `perf script` output. See the module comment for the parts. */
export class PerfCollapser implements Collapser {
  readonly #state: PerfState;
  readonly #lines: LineReader;
  readonly #scanner: PerfScanner;
  readonly #folder: StackFolder;
  readonly #frames: FrameTable;

  /** Creates a collapser; unset options take stackcollapse-perf.pl's defaults. */
  constructor(options: Partial<PerfOptions> = {}) {
    const o = { ...DEFAULTS, ...options };
    const cacheChars = o.cacheChars ?? CACHE_CHARS;
    const inline = o.inline ? new InlineResolver(o.context, { run: o.runTool }) : undefined;
    // A frame's address matters where --addrs shows it or --inline looks it up.
    const frames = new FrameTable((sym, module) =>
      (o.addrs && sym === "[unknown]") || (inline !== undefined && inline.applies(module))
    );
    this.#state = new PerfState(o, frames);
    this.#lines = new LineReader(this.#state, { srcline: o.srcline, cacheChars });
    const blocks = o.lineByLine ? undefined : new BlockReader(this.#state, {
      srcline: o.srcline,
      addresses: o.addrs || o.inline,
      cacheChars,
    });
    this.#scanner = new PerfScanner(this.#lines, blocks);
    this.#folder = new StackFolder(o, inline);
    this.#frames = frames;
  }

  /** What the weights of the samples read so far are: nanoseconds or events, and the period. */
  get clock(): PerfClock {
    return this.#state.clock;
  }

  /** Lines read so far (all of them after finish()). */
  get lineCount(): number {
    return this.#scanner.lineNo;
  }

  /** Feeds decoded text; chunks may end anywhere. */
  push(chunk: string): void {
    this.#scanner.push(chunk);
  }

  /** Ends the input and returns the folded stacks. */
  finish(): CollapseResult {
    this.#scanner.finish();
    const dropped = this.#lines.finish();
    const stacks = new Map<string, number>();
    this.#folder.foldTree(this.#state.tree, stacks, this.#frames);
    this.#folder.foldVariants(this.#state.tree, this.#state.variants, stacks);
    const first = this.#lines.firstContent;
    if (!this.#state.sawEvent && !this.#lines.sawFrame && first !== undefined) {
      throw new InputFormatError(
        `does not look like 'perf script' output (line ${first.lineNo}: ${excerpt(first.text)})`,
        first.lineNo,
      );
    }
    // What the folded names are is worked out when asked for: `flame collapse` never asks.
    const folder = this.#folder;
    const tree = this.#state.tree;
    const table = this.#frames;
    let described: Map<string, FrameInfo> | undefined;
    return {
      stacks,
      samples: this.#state.samples,
      warnings: this.#messages(dropped),
      get frames() {
        return described ??= folder.describe(tree, table);
      },
    };
  }

  /** The warnings for the user, one line each. */
  #messages(dropped: boolean): string[] {
    const out: string[] = [];
    const state = this.#state;
    const bad = state.badLinesMessage();
    if (bad !== undefined) out.push(bad);
    const scanner = this.#scanner;
    if (scanner.cutLines !== 0) {
      out.push(
        `line ${scanner.firstCut} is longer than ${MAX_LINE_CHARS} characters: the rest was cut`,
      );
    }
    if (dropped) {
      out.push(
        "the input ends inside a sample (no blank line after its last line, " +
          `line ${scanner.lineNo}): that sample was dropped`,
      );
    }
    const large = state.tooLargeMessage();
    if (large !== undefined) out.push(large);
    out.push(...state.events.messages());
    if (state.samples === 0) {
      out.push(state.events.whyNoSamples() ?? "no samples in the input: the output is empty");
    }
    return out;
  }
}
