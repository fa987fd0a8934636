/**
 * Reading a whole `perf script` sample at once (its header and frame lines, up to the blank line
 * that ends it), the fast way: its frame lines, the root-most first, walk down the tree of
 * distinct stacks (perf_stacks.ts), one step per line. Most lines repeat one that led on from the
 * same node lately (a hint), or name its frame at another address or offset, and take no lookup;
 * the others are looked up in a cache of the lines read (by their text after the address, which
 * JIT code and moved mappings change without changing the frame), and each distinct line is
 * parsed once. A thread's sample that repeats its last one exactly takes one comparison.
 *
 * A sample this reader cannot take as a whole (a line that may be a one-line sample, a header
 * that is none) is left to Perl's line-by-line reading (perf_perl.ts), which gives the same
 * result: nothing is counted here then.
 */
import { CacheUse, detached } from "./cache.ts";
import {
  addressEnd,
  isPerlSpace,
  oneLineSample,
  parseEventHead,
  parseEventTail,
  parseFrameLine,
  periodValue,
} from "./perf_lines.ts";
import { timedSample } from "./perf_events.ts";
import { type Frame, type LineText, newFrame, type StackNode } from "./perf_stacks.ts";
import { FrameReader, isBlank } from "./perf_perl.ts";
import type { PerfState } from "./perf_state.ts";

/**
 * Header starts remembered: system-wide recordings interleave a few threads (measured: the
 * last 4 give the start of 97% of headers).
 */
const RECENT_HEADS = 4;

/** A header start read lately, the root it gave, and the last sample under it. */
interface RecentHead {
  /** The header through the PID/TID and the spaces after them. */
  prefix: string;
  root: StackNode;
  /**
   * The frame lines of the last sample (a slice of the text being read: dropped when the next
   * text comes, so that no old text is kept alive) and the node of its stack, if all its lines
   * were understood.
   */
  block: string;
  node: StackNode | undefined;
}

/** The event and period of a header, and the header's end they were read from. */
interface HeaderTail {
  suffix: string;
  event: string;
  period: number;
  /** The period is a clock event's, in nanoseconds. */
  timed: boolean;
}

/** A frame line read (the first seen with its cache key) and its frame. */
interface LineEntry extends LineText {
  frame: Frame;
}

/** The frames of a `--srcline` block (leaf first) and its unrecognized lines. */
interface SrclineBlock {
  frames: Frame[];
  bad: number;
  /** The index of the first unrecognized line. */
  firstBad: number;
}

/** What a frame line that is no frame is cached as. */
const NOT_A_FRAME = newFrame("", "", "", "");
/** What a line that is a whole one-line sample is cached as (the block is read line by line). */
const ONE_LINE = newFrame("", "", "", "");
/** What a line of spaces only is cached as: no frame, and nothing wrong. */
const BLANK = newFrame("", "", "", "");

/** What the block reader needs besides the shared state. */
export interface BlockReadOptions {
  /** The input is `perf script -F+srcline`: frames may be followed by their source line. */
  srcline: boolean;
  /** Folding needs frames' addresses (`--addrs`, `--inline`): lines are cached whole. */
  addresses: boolean;
  /** Characters each cache may hold. */
  cacheChars: number;
}

/** Reads whole samples; see the module comment. */
export class BlockReader {
  /** Recent header starts, RECENT_HEADS at most, the latest first. */
  readonly #heads: RecentHead[] = [];
  /** The end of the last header parsed, from the `:` after the time on, and what it gave. */
  #lastTail: HeaderTail | undefined;
  // Frame lines read, by their text after the address, or by their whole text.
  readonly #byTail = new Map<string, LineEntry>();
  readonly #byLine = new Map<string, LineEntry>();
  readonly #lineUse = new CacheUse();
  /** `--srcline` blocks read, by their text (null: read line by line). */
  readonly #srclineBlocks = new Map<string, SrclineBlock | null>();
  readonly #blockUse = new CacheUse();
  /** What the last walk saw: unrecognized lines, and the index of the first. */
  readonly #walked = { bad: 0, firstBad: 0 };

  constructor(private readonly state: PerfState, private readonly options: BlockReadOptions) {}

  /** A new text is being read: nothing of the last one may be kept. */
  newText(): void {
    for (const head of this.#heads) {
      head.block = "";
      head.node = undefined;
    }
  }

  /**
   * Counts the sample whose header is `text[pos, eol)` and whose frame lines start at
   * `starts[0, n)` (`starts[n]`: the blank line after them, which follows `end`). `lineNo` is
   * the header's line number. Returns false when the sample needs the line-by-line reading
   * (then nothing has been counted).
   */
  read(
    text: string,
    pos: number,
    eol: number,
    end: number,
    starts: Int32Array,
    n: number,
    lineNo: number,
  ): boolean {
    const header = text.slice(pos, eol);
    const head = this.#recentHead(header);
    if (head === undefined) return false;
    const tail = this.#headerTail(header);
    if (tail === undefined) return false; // maybe a one-line sample: the line reader knows
    // A thread's samples often repeat its last one exactly (an idle loop, a blocked call).
    const block = text.slice(eol + 1, end);
    let node = block === head.block ? head.node : undefined;
    if (node !== undefined) {
      this.#walked.bad = 0;
    } else {
      node = this.options.srcline
        ? this.#srclineWalk(block, head.root)
        : this.#walk(text, head.root, starts, n);
      if (node === undefined) return false;
      head.block = block;
      head.node = this.#walked.bad === 0 ? node : undefined;
    }
    const { bad, firstBad } = this.#walked;
    if (bad !== 0) {
      this.state.bad(
        bad,
        lineNo + 1 + firstBad,
        () => text.slice(starts[firstBad], starts[firstBad + 1] - 1),
      );
    }
    const state = this.state;
    state.sawEvent = true;
    state.header(header);
    if (state.events.accepts(tail.event)) state.count(node, tail.period, tail.timed);
    return true;
  }

  /**
   * The recent header start of the sample whose header is `header` (made if new), or undefined
   * when it is no header. A header that starts like a recent one (process name, PID/TID) is
   * not parsed again.
   */
  #recentHead(header: string): RecentHead | undefined {
    const heads = this.#heads;
    for (let i = 0; i < heads.length; i++) {
      const h = heads[i];
      const n = h.prefix.length;
      if (header.length >= n && header.slice(0, n) === h.prefix) {
        // The latest first: the next header is most likely the same thread's.
        for (let j = i; j > 0; j--) heads[j] = heads[j - 1];
        heads[0] = h;
        return h;
      }
    }
    const parsed = parseEventHead(header);
    if (parsed === undefined) return undefined;
    const root = this.state.root(this.state.rootName(parsed));
    const head = {
      prefix: detached(header.slice(0, parsed.end)),
      root,
      block: "",
      node: undefined,
    };
    heads.unshift(head);
    if (heads.length > RECENT_HEADS) heads.pop();
    return head;
  }

  /**
   * The event and period of the header `header`, or undefined when it has none. A header that
   * ends like the last one (period, event) is not parsed again.
   */
  #headerTail(header: string): HeaderTail | undefined {
    const last = this.#lastTail;
    const n = last?.suffix.length ?? 0;
    if (
      last !== undefined && header.length >= n && header.slice(header.length - n) === last.suffix
    ) {
      return last;
    }
    const tail = parseEventTail(header);
    if (tail === undefined) return undefined;
    const suffix = detached(header.slice(tail.start));
    // Copies, so the tail does not keep the input chunk its header came from alive.
    return this.#lastTail = {
      suffix,
      event: detached(tail.event),
      period: periodValue(tail.period),
      timed: timedSample(tail.event, tail.period),
    };
  }

  /**
   * Walks the frame lines `starts[0, n)` of `text` down the tree from `node`, root-most line
   * first, and returns the node of the stack (noting unrecognized lines in #walked), or
   * undefined when a line needs the line-by-line reading. A line equal to one of the node's
   * hints is a step without a lookup.
   */
  #walk(text: string, node: StackNode, starts: Int32Array, n: number): StackNode | undefined {
    const walked = this.#walked;
    const addresses = this.options.addresses;
    walked.bad = 0;
    for (let i = n - 1; i >= 0; i--) {
      const p = starts[i];
      const q = starts[i + 1] - 1;
      const hinted = node.hinted(text, p, q);
      if (hinted !== undefined) {
        node = hinted;
        continue;
      }
      if (!isPerlSpace(text.charCodeAt(p))) return undefined;
      const at = addresses ? -1 : addressEnd(text, p, q);
      const key = text.slice(at === -1 ? p : at, q);
      const same = at === -1 ? undefined : node.hintedFrame(text, at, q, key);
      if (same !== undefined) {
        node = same;
        continue;
      }
      const line = this.#lineOf(text, p, q, at, key);
      if (line.frame === ONE_LINE) return undefined;
      if (line.frame === BLANK) continue;
      if (line.frame === NOT_A_FRAME) {
        walked.bad++;
        walked.firstBad = i;
      } else {
        node = node.step(line.frame, line);
      }
    }
    return node;
  }

  /**
   * What the indented line `text[p, q)` is. Lines are cached by their text after the address
   * (`at`) where the rest alone decides the frame (JIT code and moved mappings repeat a frame at
   * new addresses), else by their whole text: `key`.
   */
  #lineOf(text: string, p: number, q: number, at: number, key: string): LineEntry {
    const cache = at === -1 ? this.#byLine : this.#byTail;
    let entry = cache.get(key);
    if (this.#lineUse.looked(entry !== undefined)) {
      this.#byLine.clear();
      this.#byTail.clear();
      this.#lineUse.emptied();
    }
    if (entry === undefined) {
      entry = this.#readLine(detached(text.slice(p, q)), at - p);
      if (this.#lineUse.admits(entry.text.length, cache, this.options.cacheChars)) {
        // Under the key it is looked up by (a line that is no frame has no tail of its own).
        cache.set(entry.tail ?? (at === -1 ? entry.text : detached(key)), entry);
      }
    }
    return entry;
  }

  /**
   * Reads an indented line of a sample's block (a cache miss); `at` is where its address ends,
   * or negative when the line is cached whole.
   */
  #readLine(line: string, at: number): LineEntry {
    if (oneLineSample(line) !== undefined) {
      return { text: line, tail: undefined, frame: ONE_LINE };
    }
    const parsed = parseFrameLine(line);
    if (parsed === undefined) {
      return { text: line, tail: undefined, frame: isBlank(line) ? BLANK : NOT_A_FRAME };
    }
    const frame = this.state.frames.frameOf(parsed.pc, parsed.sym, parsed.module);
    if (at < 0) return { text: line, tail: undefined, frame };
    const tail = line.slice(at);
    if (frame.sym.length === parsed.sym.length) return { text: line, tail, frame };
    // The symbol starts after the spaces that follow the address, and ends at the module.
    let sym = at;
    while (isPerlSpace(line.charCodeAt(sym))) sym++;
    const stem = line.slice(at, sym + frame.sym.length);
    return { text: line, tail, frame, stem, end: line.slice(sym + parsed.sym.length) };
  }

  /**
   * #walk for `--srcline` input, where a frame line may be followed by its source line: the
   * block is read the way Perl reads it, once per distinct text (cached), and its frames walk
   * down the tree from `root`.
   */
  #srclineWalk(block: string, root: StackNode): StackNode | undefined {
    let read = this.#srclineBlocks.get(block);
    if (this.#blockUse.looked(read !== undefined)) {
      this.#srclineBlocks.clear();
      this.#blockUse.emptied();
    }
    if (read === undefined) {
      read = this.#readSrclineBlock(block);
      if (this.#blockUse.admits(block.length, this.#srclineBlocks, this.options.cacheChars)) {
        this.#srclineBlocks.set(detached(block), read);
      }
    }
    if (read === null) return undefined;
    this.#walked.bad = read.bad;
    this.#walked.firstBad = read.firstBad;
    let node = root;
    for (let i = read.frames.length - 1; i >= 0; i--) node = node.child(read.frames[i]);
    return node;
  }

  /** Reads a `--srcline` block, or returns null when it needs the line-by-line reading. */
  #readSrclineBlock(block: string): SrclineBlock | null {
    const read: SrclineBlock = { frames: [], bad: 0, firstBad: 0 };
    const reader = new FrameReader(true, (_line, index) => {
      if (read.bad++ === 0) read.firstBad = index;
    });
    const lines = block === "" ? [] : block.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!isPerlSpace(line.charCodeAt(0))) return null;
      if (reader.takeSrcline(line)) continue;
      if (oneLineSample(line) !== undefined) return null;
      reader.frameLine(line, i, true);
    }
    reader.end();
    const frames = this.state.frames;
    read.frames = reader.take().map((r) => frames.frameOfSlices(r.pc, r.sym, r.module, r.srcline));
    return read;
  }
}
