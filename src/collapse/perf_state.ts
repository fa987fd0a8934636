/**
 * What the two readers of `perf script` text (whole sample blocks, perf_blocks.ts; Perl's line
 * by line, perf_perl.ts) add to: the tree of distinct stacks and the distinct frames, the event
 * filter, the root frame each header gives, and what the input held for the messages.
 */
import { detached } from "./cache.ts";
import { EventFilter } from "./perf_events.ts";
import type { EventHeader } from "./perf_lines.ts";
import { FrameTable, type StackNode, StackTree } from "./perf_stacks.ts";

/** The options the readers share. */
export interface ReadOptions {
  /** Root frame `comm-PID`. */
  pid: boolean;
  /** Root frame `comm-PID/TID`. */
  tid: boolean;
  /** Keep only samples of this event; by default the first event seen. */
  eventFilter?: string;
  /** Called with the header line of every sample read (also of samples filtered out). */
  onHeader?: (line: string) => void;
  /**
   * Gives a sample a variant of its stack. Called for each sample counted, after its header
   * went to `onHeader`, with the node its stack ends at: a number routes the sample to
   * FoldOptions.variant when it is folded; undefined counts it as usual. (The same native
   * stack holds different Python frames at different times: the splice of the interpreter
   * reader's frames into perf's stacks is per sample.)
   */
  sampleVariant?: (node: StackNode) => number | undefined;
}

/** What perf's weights are (perf sums each sample's period, in its event's unit). */
export interface PerfClock {
  /** Every sample weighs its clock event's period: the weights are nanoseconds. */
  nanoseconds: boolean;
  /** The one period of all samples, when it never changed. */
  periodNs?: number;
}

/**
 * The clock of several collapsers' samples (slices of one recording) that each counted some:
 * nanoseconds when each one's are, and the period when all had the same one.
 */
export function mergeClocks(clocks: readonly PerfClock[]): PerfClock {
  const nanoseconds = clocks.length > 0 && clocks.every((c) => c.nanoseconds);
  const periodNs = clocks[0]?.periodNs;
  return nanoseconds && periodNs !== undefined && clocks.every((c) => c.periodNs === periodNs)
    ? { nanoseconds, periodNs }
    : { nanoseconds };
}

/** Samples of one stack and variant: summed periods, and how many. */
export interface VariantCount {
  period: number;
  samples: number;
}

/** The largest period perf prints: its periods are unsigned 64-bit numbers. */
const MAX_PERIOD = 2 ** 64;

/**
 * The root frame perf's collapsed stacks give a sample of thread `tid` named `comm`: `comm`,
 * `comm-PID` (`pid`) or `comm-PID/TID` (`tid`), spaces made `_`. Samples added beside perf's
 * (the interpreter reader's) are named by it too, so that a thread sits under one root.
 */
export function rootFrameName(
  comm: string,
  pid: string | number,
  tid: string | number,
  options: { pid?: boolean; tid?: boolean },
): string {
  let name = comm;
  if (options.tid) name += `-${pid}/${tid}`;
  else if (options.pid) name += `-${pid}`;
  return name.includes(" ") ? name.replaceAll(" ", "_") : name;
}

/** Shortens a line for a message. */
export function excerpt(line: string): string {
  const s = line.trim();
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
}

/** The samples read so far, and what else the input held. */
export class PerfState {
  readonly tree = new StackTree();
  /** Samples given a variant (`sampleVariant`): per node, per variant. */
  readonly variants = new Map<StackNode, Map<number, VariantCount>>();
  readonly events: EventFilter;
  /** Samples counted (kept by the event filter). */
  samples = 0;
  /** Some header or one-line sample named an event (the input is perf script's). */
  sawEvent = false;
  #unrecognized = 0;
  /** Samples left out for a period larger than MAX_PERIOD. */
  #tooLarge = 0;
  /** Samples counted that weigh a clock event's period (`timedSample`). */
  #timed = 0;
  /** The period of the timed samples: 0 before the first, -1 when they differ. */
  #clockPeriod = 0;
  #firstBad: { lineNo: number; text: string } | undefined;

  constructor(private readonly options: ReadOptions, readonly frames: FrameTable) {
    this.events = new EventFilter(options.eventFilter);
  }

  /** The root frame of a header (`rootFrameName`). */
  rootName(head: EventHeader): string {
    return rootFrameName(head.comm, head.pid, head.tid, this.options);
  }

  /** The tree node of the root frame `name` (which may be a slice of the input). */
  root(name: string): StackNode {
    return this.tree.root(name, detached);
  }

  /**
   * Counts a sample whose stack ends at `node`, unless its period is larger than perf's periods
   * can be (64 bits; text can say anything): then no sum of periods can overflow a number.
   * `timed`: its period is a clock event's, in nanoseconds (`timedSample`).
   */
  count(node: StackNode, period: number, timed: boolean): void {
    if (period > MAX_PERIOD) {
      this.#tooLarge++;
      return;
    }
    this.samples++;
    if (timed) {
      this.#timed++;
      if (this.#clockPeriod !== period) this.#clockPeriod = this.#clockPeriod === 0 ? period : -1;
    }
    const variant = this.options.sampleVariant?.(node);
    if (variant !== undefined) {
      let byVariant = this.variants.get(node);
      if (byVariant === undefined) this.variants.set(node, byVariant = new Map());
      const c = byVariant.get(variant);
      if (c === undefined) byVariant.set(variant, { period, samples: 1 });
      else {
        c.period += period;
        c.samples++;
      }
      return;
    }
    node.period += period;
    node.samples++;
  }

  /**
   * What the weights are: nanoseconds when every sample counted weighs a clock event's period
   * (a recording that also holds other events, filtered out, still qualifies), and that period
   * when it was always the same (the sampling rate follows).
   */
  get clock(): PerfClock {
    const nanoseconds = this.samples > 0 && this.#timed === this.samples;
    return nanoseconds && this.#clockPeriod > 0
      ? { nanoseconds, periodNs: this.#clockPeriod }
      : { nanoseconds };
  }

  /** The message on samples left out for their period, if any. */
  tooLargeMessage(): string | undefined {
    const n = this.#tooLarge;
    if (n === 0) return undefined;
    return `${n} sample${n === 1 ? "" : "s"} with a period over 2^64 (no perf period is) left out`;
  }

  /** A sample's header line was read. */
  header(line: string): void {
    this.options.onHeader?.(line);
  }

  /** Lines not understood so far. */
  get unrecognized(): number {
    return this.#unrecognized;
  }

  /** `count` lines were not understood, the first of them line `lineNo`, `text()`. */
  bad(count: number, lineNo: number, text: () => string): void {
    if (this.#unrecognized === 0) this.#firstBad = { lineNo, text: detached(text()) };
    this.#unrecognized += count;
  }

  /** The message on lines not understood, if any. */
  badLinesMessage(): string | undefined {
    const n = this.#unrecognized;
    if (n === 0 || this.#firstBad === undefined) return undefined;
    return `${n} line${n === 1 ? "" : "s"} not understood and skipped, the first at line ` +
      `${this.#firstBad.lineNo}: ${excerpt(this.#firstBad.text)}`;
  }
}
