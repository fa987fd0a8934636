/**
 * The `perf script` collapser: folds perf's text output into folded stacks with
 * stackcollapse-perf.pl's semantics, byte for byte, plus the fixes listed in the conformance
 * README (top-level `(` cut, Rust repair, jitted-*.so is JIT, vmlinux-<ver> and .ko are kernel,
 * one-line samples folded, --srcline reads only real source lines). One more: Perl drops every
 * symbol that starts with `(` (meant for process names), which loses all C++ functions in an
 * `(anonymous namespace)`; flame keeps those.
 *
 * It streams: text is pushed in chunks of any size and memory holds the unique stacks, bounded
 * caches and at most one sample of text. Two caches make it fast: a sample's frame lines are
 * usually an exact repeat of an earlier sample's, so the folded result of a whole block of frame
 * lines is kept by its text (one Map lookup per sample), and a frame line's folded form is kept by
 * the line's text.
 *
 * Perl's line-by-line state machine is kept exactly (`#line`), including its quirks: frames
 * before a header that was filtered out are ignored, a header without a blank line before it
 * joins the previous frames, and a sample is only counted at the blank line that ends it.
 */
import { addStack, type FoldedStacks } from "../folded/stacks.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";
import { InlineResolver, type RunTool } from "./perf_inline.ts";
import {
  type EventHeader,
  type EventTail,
  type FrameLine,
  isPerlSpace,
  type OneLineSample,
  parseBareFrameLine,
  parseEventHead,
  parseEventTail,
  parseFrameLine,
  parseOneLineSample,
  periodValue,
} from "./perf_lines.ts";
import { cleanSrcline, splitInlineChain, stripOffset, tidyFunction } from "./perf_symbols.ts";

/** One frame handed to a {@link PerfOptions.transform} hook. */
export interface RawFrame {
  /** The symbol as perf printed it without its `+0x..` offset, not yet tidied. */
  sym: string;
  /**
   * The module (DSO) perf printed in parentheses. An `(inlined)` frame gets the module of the
   * next frame towards the root that is not inlined.
   */
  module: string;
}

/** Options of the perf collapser: stackcollapse-perf.pl's, by the same names. */
export interface PerfOptions {
  /** Root frame `comm-PID`. */
  pid: boolean;
  /** Root frame `comm-PID/TID`. */
  tid: boolean;
  /** Append `_[k]` to kernel frames. */
  kernel: boolean;
  /** Append `_[j]` to JIT frames (`/tmp/perf-PID.map`, `jitted-*.so`). */
  jit: boolean;
  /** Unknown symbols become `[module <addr>]` instead of `[module]`. */
  addrs: boolean;
  /** Keep only samples of this event; by default the first event seen. */
  eventFilter?: string;
  /** Expand inlined functions with addr2line. */
  inline: boolean;
  /** With `inline`, append `:file:line` to each frame. */
  context: boolean;
  /** The input is `perf script -F+srcline`: append each frame's source line. */
  srcline: boolean;
  /**
   * Rewrites one sample's frames (leaf first) before they are tidied: return the frames to
   * keep, in the same order, with `sym` renamed where wanted. Return the objects you were given
   * (renamed or not) to keep their addresses for `addrs` and `inline`.
   */
  transform?: (frames: RawFrame[]) => RawFrame[];
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

/** A frame line as read, before folding. */
interface FrameRecord extends FrameLine {
  /** The source line perf printed after the frame (`--srcline`), cleaned. */
  srcline?: string;
  /** What the frame's folded form is cached by: its text (and its source line's). */
  key: string;
  /** The process name was `java...` when the frame was read (Java names are tidied more). */
  java: boolean;
}

/** The folded form of one block of frame lines, and the samples counted against it. */
interface BlockEntry {
  /** False when the block needs the line-by-line path (a header or comment inside it). */
  regular: boolean;
  /** Frames root to leaf joined by `;`, or null when the lines gave no frame. */
  suffix: string | null;
  /** Lines in the block. */
  lines: number;
  /** Lines that were not understood, and the first one's index and text. */
  unrecognized: number;
  firstBad: number;
  firstBadText: string;
  /** Summed periods by root frame (process name), while the entry is in the cache. */
  counts: Map<string, number>;
  /** True once the entry is in the cache (a full cache folds blocks without keeping them). */
  cached: boolean;
}

const IRREGULAR: BlockEntry = {
  regular: false,
  suffix: null,
  lines: 0,
  unrecognized: 0,
  firstBad: -1,
  firstBadText: "",
  counts: new Map(),
  cached: false,
};

/** A sample longer than this is read line by line instead of as one block. */
const MAX_BLOCK = 1 << 20;
/** Characters kept of one line; the rest is dropped (with a warning). */
const MAX_LINE = 1 << 24;
/**
 * Characters each cache may hold by default (keys and folded values). Measured: larger caches
 * hit a little more often on profiles with many unique stacks, but cost more in GC than
 * they save.
 */
const CACHE_CHARS = 1 << 21;
/** Entries each cache may hold. */
const CACHE_ENTRIES = 200_000;
/**
 * Lookups after which a full cache that misses more often than it hits is emptied, so that it
 * can learn the stacks of a new phase of the profile. A full cache is otherwise left as it is:
 * emptying and refilling it over and over would make garbage as fast as the input comes.
 */
const CACHE_WINDOW = 1 << 16;
/** Event names remembered for messages. */
const MAX_EVENT_NAMES = 16;

/**
 * The use of a bounded cache: how full it is, and how often it hit lately. A full cache takes
 * no new entries; it is emptied only when it misses more than it hits over CACHE_WINDOW
 * lookups.
 */
class CacheUse {
  #chars = 0;
  #full = false;
  #lookups = 0;
  #hits = 0;

  /** Counts a lookup; true when the cache should be emptied now. */
  looked(hit: boolean): boolean {
    if (hit) this.#hits++;
    if (++this.#lookups < CACHE_WINDOW) return false;
    const empty = this.#full && this.#hits * 2 < this.#lookups;
    this.#lookups = 0;
    this.#hits = 0;
    return empty;
  }

  /** True when an entry of `chars` characters fits (and counts it as stored). */
  admits(chars: number, cache: Map<string, unknown>, limit: number): boolean {
    if (this.#full || this.#chars + chars > limit || cache.size >= CACHE_ENTRIES) {
      this.#full = true;
      return false;
    }
    this.#chars += chars;
    return true;
  }

  /** The cache was emptied. */
  emptied(): void {
    this.#chars = 0;
    this.#full = false;
  }
}

/**
 * Reads the frame lines of one sample. With `--srcline`, a frame may be followed by its source
 * line; a line is taken as one only when it is not a frame itself, so a frame for which perf
 * printed no source line takes no suffix and the next line keeps its meaning.
 */
class FrameReader {
  frames: FrameRecord[] = [];
  /** The process name of the sample being read starts with `java`. */
  java = false;
  /** `--srcline`: the last frame, which the next line may give a source line. */
  #pending?: FrameRecord;
  /** `--srcline`: a frame printed without module (perf's inlined frame), waiting for its line. */
  #bare?: { pc: string; sym: string; line: string; lineNo: number; keep: boolean };
  sawFrame = false;

  constructor(
    private readonly srcline: boolean,
    private readonly onUnrecognized: (line: string, lineNo: number) => void,
  ) {}

  /** With `--srcline`: takes `line` as the source line of the frame before it, if it is one. */
  takeSrcline(line: string): boolean {
    if (this.#bare !== undefined) {
      const bare = this.#bare;
      this.#bare = undefined;
      if (isPerlSpace(line.charCodeAt(0)) && line.endsWith(" (inlined)")) {
        if (bare.keep) {
          const key = `${bare.line}\n${line}`;
          const srcline = cleanSrcline(line);
          const { pc, sym } = bare;
          this.frames.push({ pc, sym, module: "inlined", srcline, key, java: this.java });
        }
        return true;
      }
      this.onUnrecognized(bare.line, bare.lineNo);
      return false;
    }
    const frame = this.#pending;
    if (frame === undefined) return false;
    this.#pending = undefined;
    if (!looksLikeSrcline(line)) return false;
    frame.srcline = cleanSrcline(line);
    frame.key += `\n${line}`;
    return true;
  }

  /** Reads a frame line; `keep` is false while the sample is being skipped. */
  frameLine(line: string, lineNo: number, keep: boolean): void {
    const frame = parseFrameLine(line);
    if (frame !== undefined) {
      if (!this.sawFrame && /^[0-9a-fA-F]+$/.test(frame.pc)) this.sawFrame = true;
      const { pc, sym, module } = frame;
      const record: FrameRecord = { pc, sym, module, key: line, java: this.java };
      if (keep) this.frames.push(record);
      if (this.srcline) this.#pending = record;
      return;
    }
    if (this.srcline) {
      const bare = parseBareFrameLine(line);
      if (bare !== undefined) {
        this.#bare = { pc: bare.pc, sym: bare.sym, line, lineNo, keep };
        return;
      }
    }
    this.onUnrecognized(line, lineNo);
  }

  /** Adds the frame of a one-line sample; with `--srcline` it may still get a source line. */
  addFrame(record: FrameRecord): void {
    this.frames.push(record);
    if (this.srcline) this.#pending = record;
  }

  /** Ends the sample's frame lines. */
  end(): void {
    if (this.#bare !== undefined) this.onUnrecognized(this.#bare.line, this.#bare.lineNo);
    this.#bare = undefined;
    this.#pending = undefined;
  }

  /** The frames read since the last call, leaf first. */
  take(): FrameRecord[] {
    const frames = this.frames;
    if (frames.length !== 0) this.frames = [];
    return frames;
  }
}

/** A `--srcline` source line: indented, and neither a frame nor a module-less frame. */
function looksLikeSrcline(line: string): boolean {
  return line.length > 0 && isPerlSpace(line.charCodeAt(0)) && line.trim() !== "" &&
    parseFrameLine(line) === undefined && parseBareFrameLine(line) === undefined;
}

/**
 * A line that could be a one-line sample (cheap test before the parser). perf indents frame
 * lines with a tab and right-aligns process names with spaces, so a tab rules one out.
 */
function mayBeOneLineSample(line: string): boolean {
  return line.charCodeAt(0) !== 9 && (line.includes(": ") || line.includes(":\t"));
}

/** Shortens a line for a message. */
function excerpt(line: string): string {
  const s = line.trim();
  return JSON.stringify(s.length > 80 ? s.slice(0, 77) + "..." : s);
}

/** Folds `perf script` output. See the module comment for the semantics. */
export class PerfCollapser implements Collapser {
  readonly #o: PerfOptions;
  readonly #inline?: InlineResolver;
  readonly #fast: boolean;
  readonly #cacheChars: number;
  readonly #stacks: FoldedStacks = new Map();

  // Perl's state.
  #pname: string | undefined;
  #period = 1;
  #filter: string | undefined;
  #filterDefaulted = false;
  readonly #reader: FrameReader;
  /** `--srcline`: a one-line sample waiting for its frame's source line. */
  #oneLinePending = false;

  // Stream state.
  #carry: string[] = [];
  #carryLen = 0;
  #heldCr = false;
  #cutting = false;
  #lineNo = 0;

  // Caches: [not java, java] (a `java` process name changes how names are tidied).
  readonly #blocks = [new Map<string, BlockEntry>(), new Map<string, BlockEntry>()];
  readonly #blockUse = new CacheUse();
  readonly #frameCache = [new Map<string, string | null>(), new Map<string, string | null>()];
  readonly #frameUse = new CacheUse();
  readonly #origin = new WeakMap<RawFrame, FrameRecord & { given: RawFrame }>();

  // What the input held, for messages.
  #samples = 0;
  #unrecognized = 0;
  #firstBad: { lineNo: number; text: string } | undefined;
  #firstContent: { lineNo: number; text: string } | undefined;
  #sawEvent = false;
  #cutLines = 0;
  #firstCut = 0;
  readonly #events = new Set<string>();
  readonly #skipped = new Set<string>();
  readonly #oneLineEvents = new Set<string>();

  /** Creates a collapser; unset options take stackcollapse-perf.pl's defaults. */
  constructor(options: Partial<PerfOptions> = {}) {
    this.#o = { ...DEFAULTS, ...options };
    this.#cacheChars = this.#o.cacheChars ?? CACHE_CHARS;
    if (this.#o.eventFilter) this.#filter = this.#o.eventFilter;
    if (this.#o.inline) {
      this.#inline = new InlineResolver(this.#o.context, { run: this.#o.runTool });
    }
    // The transform hook sees whole samples, so it takes the line-by-line path.
    this.#fast = this.#o.transform === undefined;
    this.#reader = new FrameReader(this.#o.srcline, (line, lineNo) => this.#bad(line, lineNo));
  }

  /** Lines read so far (all of them after finish()). */
  get lineCount(): number {
    return this.#lineNo;
  }

  /** Feeds decoded text; chunks may end anywhere. */
  push(chunk: string): void {
    chunk = this.#normalizeNewlines(chunk);
    if (chunk === "") return;
    if (this.#cutting) {
      const nl = chunk.indexOf("\n");
      if (nl === -1) return;
      chunk = chunk.slice(nl);
      this.#cutting = false;
    }
    const start = this.#carryLen === 0 ? 0 : this.#joinCarry(chunk);
    if (start === -1) return;
    const pos = this.#scan(chunk, start, false);
    if (pos < chunk.length) this.#appendCarry(chunk.slice(pos));
  }

  /**
   * Completes the text kept from earlier chunks with the start of `chunk` (up to the end of the
   * sample or line it was waiting for) and processes it. Joining only that much, not the whole
   * chunk, avoids copying every chunk once more. Returns where to go on in `chunk`, or -1 when
   * all of it has been taken.
   */
  #joinCarry(chunk: string): number {
    const nl = chunk.indexOf("\n");
    if (nl === -1) {
      this.#appendCarry(chunk);
      return -1;
    }
    let from = 0;
    if (this.#carryLen + nl > MAX_LINE) {
      // The line ending here is too long: keep its first MAX_LINE characters.
      this.#appendCarry(chunk.slice(0, nl));
      this.#cutting = false;
      from = nl;
    }
    const last = this.#carry[this.#carry.length - 1];
    let end: number;
    if (from === 0 && last.endsWith("\n") && chunk.charCodeAt(0) === 10) {
      end = from + 1;
    } else {
      const blank = chunk.indexOf("\n\n", from);
      end = blank === -1 ? nl + 1 : blank + 2;
    }
    const head = this.#carry.join("") + chunk.slice(from, end);
    this.#carry = [];
    this.#carryLen = 0;
    const done = this.#scan(head, 0, false);
    if (done === head.length) return end;
    // The head ends inside a sample that goes on in this chunk: join them after all (rare).
    const text = head.slice(done) + chunk.slice(end);
    const pos = this.#scan(text, 0, false);
    if (pos < text.length) this.#appendCarry(text.slice(pos));
    return -1;
  }

  /** Ends the input and returns the folded stacks. */
  finish(): CollapseResult {
    this.#heldCr = false; // a lone CR at the very end is dropped, like the CR of a CRLF
    const text = this.#carry.join("");
    this.#carry = [];
    this.#carryLen = 0;
    const pos = this.#scan(text, 0, true);
    if (pos < text.length) this.#line(text.slice(pos), ++this.#lineNo);
    this.#reader.end();
    if (this.#oneLinePending) this.#endSample();
    const dropped = this.#pname !== undefined;
    this.#pname = undefined;
    this.#flushBlocks();
    if (!this.#sawEvent && !this.#reader.sawFrame && this.#firstContent !== undefined) {
      const { lineNo, text } = this.#firstContent;
      throw new InputFormatError(
        `does not look like 'perf script' output (line ${lineNo}: ${excerpt(text)})`,
        lineNo,
      );
    }
    return { stacks: this.#stacks, samples: this.#samples, warnings: this.#messages(dropped) };
  }

  /** CRLF reads as LF; a CR at the end of a chunk waits for the next one. */
  #normalizeNewlines(chunk: string): string {
    if (this.#heldCr) {
      chunk = "\r" + chunk;
      this.#heldCr = false;
    }
    if (chunk.indexOf("\r") === -1) return chunk;
    if (chunk.endsWith("\r")) {
      this.#heldCr = true;
      chunk = chunk.slice(0, -1);
    }
    return chunk.replaceAll("\r\n", "\n");
  }

  /** Keeps text that does not end a line yet, cutting a line longer than MAX_LINE. */
  #appendCarry(text: string): void {
    if (this.#carryLen + text.length > MAX_LINE) {
      const room = MAX_LINE - this.#carryLen;
      if (room > 0) this.#carry.push(text.slice(0, room));
      this.#carryLen = MAX_LINE;
      this.#cutting = true;
      if (this.#cutLines++ === 0) this.#firstCut = this.#lineNo + 1;
      return;
    }
    this.#carry.push(text);
    this.#carryLen += text.length;
  }

  /**
   * Processes the complete lines of `text` from `start` on and returns where the unprocessed
   * rest starts.
   * Whole samples go through the block cache; everything else goes line by line. Unless
   * `final`, a sample whose closing blank line is not in `text` yet is left for the next chunk.
   */
  #scan(text: string, start: number, final: boolean): number {
    let pos = start;
    const n = text.length;
    while (pos < n) {
      if (this.#fast && this.#pname === undefined && !this.#oneLinePending) {
        const c = text.charCodeAt(pos);
        if (c !== 35 /* # */ && !isPerlSpace(c)) {
          const eol = text.indexOf("\n", pos);
          if (eol === -1) return pos;
          const end = text.indexOf("\n\n", eol);
          if (end !== -1 && end - eol <= MAX_BLOCK) {
            const next = this.#fastSample(text, pos, eol, end);
            if (next !== -1) {
              pos = next;
              continue;
            }
          } else if (end === -1 && !final && n - pos <= MAX_BLOCK) {
            return pos; // wait for the rest of the sample
          }
        }
      }
      const eol = text.indexOf("\n", pos);
      if (eol === -1) return pos;
      this.#line(text.slice(pos, eol), ++this.#lineNo);
      pos = eol + 1;
    }
    return pos;
  }

  /**
   * Folds the sample whose header is `text[pos, eol)` and whose frame lines end at the blank
   * line after `end`, through the block cache. Returns the position after the blank line, or -1
   * when the sample needs the line-by-line path.
   */
  #fastSample(text: string, pos: number, eol: number, end: number): number {
    const header = text.slice(pos, eol);
    const head = parseEventHead(header);
    if (head === undefined) return -1;
    const tail = parseEventTail(header);
    if (tail === undefined) return -1; // maybe a one-line sample: the slow path knows
    const block = end === eol ? "" : text.slice(eol + 1, end);
    const entry = this.#blockEntry(block, head.comm.startsWith("java"));
    if (!entry.regular) return -1;
    this.#reader.end();
    const lineNo = this.#lineNo + 1;
    this.#lineNo += entry.lines + 2;
    if (entry.unrecognized !== 0) {
      this.#unrecognized += entry.unrecognized;
      this.#firstBad ??= { lineNo: lineNo + 1 + entry.firstBad, text: entry.firstBadText };
    }
    this.#sawEvent = true;
    if (!this.#accepts(tail.event)) return end + 2;
    const pname = this.#rootName(head);
    const period = periodValue(tail.period);
    if (entry.cached) entry.counts.set(pname, (entry.counts.get(pname) ?? 0) + period);
    else addStack(this.#stacks, entry.suffix === null ? pname : `${pname};${entry.suffix}`, period);
    this.#samples++;
    return end + 2;
  }

  /** The cached folded form of a block of frame lines. */
  #blockEntry(block: string, java: boolean): BlockEntry {
    const cache = this.#blocks[java ? 1 : 0];
    const cached = cache.get(block);
    if (this.#blockUse.looked(cached !== undefined)) this.#flushBlocks();
    if (cached !== undefined) return cached;
    const entry = this.#foldBlock(block, java);
    if (
      this.#blockUse.admits(block.length + (entry.suffix?.length ?? 0), cache, this.#cacheChars)
    ) {
      if (entry.regular) entry.cached = true;
      cache.set(block, entry);
    }
    return entry;
  }

  /**
   * Folds a block of frame lines (the lines between a header and its blank line). Without
   * `--srcline` each line is looked up in the frame cache before it is parsed at all.
   */
  #foldBlock(block: string, java: boolean): BlockEntry {
    if (!this.#o.srcline) return this.#foldPlainBlock(block, java);
    const lines = block === "" ? [] : block.split("\n");
    for (const line of lines) {
      if (!isPerlSpace(line.charCodeAt(0))) return IRREGULAR;
    }
    const entry: BlockEntry = {
      ...IRREGULAR,
      regular: true,
      lines: lines.length,
      counts: new Map(),
    };
    const reader = new FrameReader(this.#o.srcline, (line, index) => {
      if (entry.unrecognized++ === 0) {
        entry.firstBad = index;
        entry.firstBadText = line;
      }
    });
    reader.java = java;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (reader.takeSrcline(line)) continue;
      if (mayBeOneLineSample(line) && parseOneLineSample(line) !== undefined) return IRREGULAR;
      reader.frameLine(line, i, true);
    }
    reader.end();
    entry.suffix = this.#foldFrames(reader.take());
    return entry;
  }

  /** {@link #foldBlock} without `--srcline`: one frame per line, no records. */
  #foldPlainBlock(block: string, java: boolean): BlockEntry {
    const entry: BlockEntry = { ...IRREGULAR, regular: true, counts: new Map() };
    if (block === "") return entry;
    const cache = this.#frameCache[java ? 1 : 0];
    const parts: string[] = [];
    for (let start = 0; start <= block.length;) {
      let end = block.indexOf("\n", start);
      if (end === -1) end = block.length;
      const line = block.slice(start, end);
      const index = entry.lines++;
      start = end + 1;
      if (!isPerlSpace(line.charCodeAt(0))) return IRREGULAR;
      let folded = this.#frameLookup(cache, line);
      if (folded === undefined) {
        if (mayBeOneLineSample(line) && parseOneLineSample(line) !== undefined) return IRREGULAR;
        const frame = parseFrameLine(line);
        if (frame === undefined) {
          if (entry.unrecognized++ === 0) {
            entry.firstBad = index;
            entry.firstBadText = line;
          }
          continue;
        }
        folded = this.#foldFrame(frame.pc, frame.sym, frame.module, undefined, java);
        this.#rememberFrame(cache, line, folded);
      }
      if (folded !== null) parts.push(folded);
    }
    entry.suffix = parts.length === 0 ? null : parts.reverse().join(";");
    return entry;
  }

  /** Moves the counts held by the block cache into the stacks and empties the cache. */
  #flushBlocks(): void {
    for (const cache of this.#blocks) {
      for (const entry of cache.values()) {
        if (!entry.cached) continue;
        for (const [pname, count] of entry.counts) {
          addStack(this.#stacks, entry.suffix === null ? pname : `${pname};${entry.suffix}`, count);
        }
        // A caller may still hold the entry: from now on its samples go to the stacks directly.
        entry.cached = false;
        entry.counts.clear();
      }
      cache.clear();
    }
    this.#blockUse.emptied();
  }

  /** One line, the way stackcollapse-perf.pl's main loop reads it. */
  #line(text: string, lineNo: number): void {
    if (this.#oneLinePending) {
      this.#oneLinePending = false;
      const tookSrcline = this.#reader.takeSrcline(text);
      this.#endSample();
      if (tookSrcline) return;
    }
    const c = text.charCodeAt(0);
    if (c === 35 /* # */) return;
    if (text === "") {
      this.#endSample();
      return;
    }
    this.#firstContent ??= { lineNo, text };
    if (this.#reader.takeSrcline(text)) return;
    if (!isPerlSpace(c)) {
      const head = parseEventHead(text);
      if (head !== undefined) {
        const tail = parseEventTail(text);
        const one = tail === undefined ? this.#oneLineSample(text) : undefined;
        this.#reader.end();
        if (one !== undefined) this.#oneLine(one);
        else this.#event(head, tail);
        return;
      }
    } else {
      const one = this.#oneLineSample(text);
      if (one !== undefined) {
        this.#reader.end();
        this.#oneLine(one);
        return;
      }
    }
    this.#reader.frameLine(text, lineNo, this.#pname !== undefined);
  }

  #oneLineSample(text: string): OneLineSample | undefined {
    return mayBeOneLineSample(text) ? parseOneLineSample(text) : undefined;
  }

  /** An event header: Perl's filter, period and process name. */
  #event(head: EventHeader, tail: EventTail | undefined): void {
    if (tail !== undefined) {
      this.#sawEvent = true;
      if (!this.#accepts(tail.event)) return;
    }
    this.#period = periodValue(tail?.period);
    this.#pname = this.#rootName(head);
    this.#reader.java = head.comm.startsWith("java");
  }

  /**
   * A one-line sample (no call chain): a header, its frame, and the end of the sample. Perl
   * sees no event name on such lines, so they neither set nor obey the default event filter;
   * an explicit `--event-filter` applies.
   */
  #oneLine(one: OneLineSample): void {
    this.#sawEvent = true;
    if (this.#oneLineEvents.size < MAX_EVENT_NAMES) this.#oneLineEvents.add(one.event);
    if (this.#o.eventFilter && one.event !== this.#o.eventFilter) {
      this.#noteSkipped(one.event);
      return;
    }
    this.#period = periodValue(one.period);
    this.#pname = this.#rootName(one);
    const java = one.comm.startsWith("java");
    this.#reader.java = java;
    const { pc, sym, module } = one.frame;
    this.#reader.addFrame({ pc, sym, module, key: `${pc}\0${sym}\0${module}`, java });
    if (this.#o.srcline) this.#oneLinePending = true;
    else this.#endSample();
  }

  /** True when samples of `event` are kept; the first event seen becomes the default filter. */
  #accepts(event: string): boolean {
    if (event === this.#filter) return true;
    if (this.#events.size < MAX_EVENT_NAMES) this.#events.add(event);
    if (this.#filter === undefined) {
      this.#filter = event;
      this.#filterDefaulted = true;
      return true;
    }
    this.#noteSkipped(event);
    return false;
  }

  #noteSkipped(event: string): void {
    if (this.#skipped.size < MAX_EVENT_NAMES) this.#skipped.add(event);
  }

  /** The root frame: `comm`, `comm-PID` or `comm-PID/TID`, spaces made `_`. */
  #rootName(head: EventHeader): string {
    let name = head.comm;
    if (this.#o.tid) name += `-${head.pid}/${head.tid}`;
    else if (this.#o.pid) name += `-${head.pid}`;
    return name.includes(" ") ? name.replaceAll(" ", "_") : name;
  }

  /** The blank line that ends a sample: counts it if a header was accepted. */
  #endSample(): void {
    this.#reader.end();
    const pname = this.#pname;
    if (pname === undefined) return;
    const suffix = this.#foldFrames(this.#reader.take());
    addStack(this.#stacks, suffix === null ? pname : `${pname};${suffix}`, this.#period);
    this.#samples++;
    this.#pname = undefined;
  }

  #bad(line: string, lineNo: number): void {
    if (this.#unrecognized++ === 0) this.#firstBad = { lineNo, text: line };
  }

  /**
   * Folds a sample's frames (leaf first) into `frame;...;leaf` root first, or null. Each frame
   * is tidied for the process name it was read under, as in Perl (a header with no blank line
   * before it changes the name in the middle of a stack).
   */
  #foldFrames(frames: FrameRecord[]): string | null {
    if (this.#o.transform !== undefined) return this.#foldTransformed(frames);
    let out: string | null = null;
    for (let i = frames.length - 1; i >= 0; i--) {
      const folded = this.#foldCached(frames[i]);
      if (folded !== null) out = out === null ? folded : `${out};${folded}`;
    }
    return out;
  }

  #foldCached(frame: FrameRecord): string | null {
    const cache = this.#frameCache[frame.java ? 1 : 0];
    let folded = this.#frameLookup(cache, frame.key);
    if (folded === undefined) {
      folded = this.#foldFrame(frame.pc, frame.sym, frame.module, frame.srcline, frame.java);
      this.#rememberFrame(cache, frame.key, folded);
    }
    return folded;
  }

  /** Looks a frame line up in the frame cache. */
  #frameLookup(cache: Map<string, string | null>, key: string): string | null | undefined {
    const folded = cache.get(key);
    if (this.#frameUse.looked(folded !== undefined)) {
      for (const c of this.#frameCache) c.clear();
      this.#frameUse.emptied();
    }
    return folded;
  }

  /** Caches a frame line's folded form, if the cache has room. */
  #rememberFrame(cache: Map<string, string | null>, key: string, folded: string | null): void {
    if (this.#frameUse.admits(key.length + (folded?.length ?? 0), cache, this.#cacheChars)) {
      cache.set(key, folded);
    }
  }

  /**
   * Folds one frame line into its frames (several for a `->` chain or --inline), root first
   * and joined by `;`, or null when the line gives none.
   */
  #foldFrame(
    pc: string,
    rawSym: string,
    module: string,
    srcline: string | undefined,
    java: boolean,
  ): string | null {
    if (this.#inline !== undefined && pc !== "" && this.#inline.applies(module)) {
      const inlined = this.#inline.resolve(pc, rawSym, module);
      if (inlined !== "" && inlined !== "??" && inlined !== "??:??:0") return inlined;
    }
    const sym = stripOffset(rawSym);
    // Perl skips symbols in parentheses (process names), but that also dropped every C++
    // function in an anonymous namespace: those are kept.
    if (sym.charCodeAt(0) === 40 /* ( */ && !sym.startsWith("(anonymous namespace)")) return null;
    const pieces = splitInlineChain(sym);
    if (pieces.length === 0) return null;
    let out = "";
    for (let i = 0; i < pieces.length; i++) {
      let func = tidyFunction(pieces[i], pc, module, i > 0, java, this.#o);
      if (srcline && i === pieces.length - 1) func += `:${srcline}`;
      out = i === 0 ? func : `${out};${func}`;
    }
    return out;
  }

  /** The transform hook's path: raw frames out, the kept ones folded. */
  #foldTransformed(frames: FrameRecord[]): string | null {
    const java = frames.length !== 0 && frames[0].java;
    const given: RawFrame[] = new Array(frames.length);
    let outer = "inlined";
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i];
      if (f.module !== "inlined") outer = f.module;
      const raw: RawFrame = {
        sym: stripOffset(f.sym),
        module: f.module === "inlined" ? outer : f.module,
      };
      this.#origin.set(raw, { ...f, given: { ...raw } });
      given[i] = raw;
    }
    const kept = this.#o.transform!(given);
    let out: string | null = null;
    for (let i = kept.length - 1; i >= 0; i--) {
      const raw = kept[i];
      const origin = this.#origin.get(raw);
      // An untouched frame keeps perf's own text (offset, `inlined` module) for the rules.
      const sym = origin && raw.sym === origin.given.sym ? origin.sym : raw.sym;
      const module = origin && raw.module === origin.given.module ? origin.module : raw.module;
      const folded = this.#foldFrame(
        origin?.pc ?? "",
        sym,
        module,
        origin?.srcline,
        origin?.java ?? java,
      );
      if (folded !== null) out = out === null ? folded : `${out};${folded}`;
    }
    return out;
  }

  /** The warnings for the user, one line each. */
  #messages(dropped: boolean): string[] {
    const out: string[] = [];
    if (this.#unrecognized !== 0 && this.#firstBad !== undefined) {
      const n = this.#unrecognized;
      out.push(
        `${n} line${n === 1 ? "" : "s"} not understood and skipped, the first at line ` +
          `${this.#firstBad.lineNo}: ${excerpt(this.#firstBad.text)}`,
      );
    }
    if (this.#cutLines !== 0) {
      out.push(`line ${this.#firstCut} is longer than ${MAX_LINE} characters: the rest was cut`);
    }
    if (dropped) {
      out.push(
        "the input ends inside a sample (no blank line after its last line, " +
          `line ${this.#lineNo}): that sample was dropped`,
      );
    }
    const skipped = [...this.#skipped].filter((e) => e !== this.#filter);
    if (this.#filterDefaulted && skipped.length !== 0) {
      out.push(
        `Filtering for events of type: ${this.#filter} (the first in the input); skipped ` +
          `samples of ${skipped.join(", ")}. Pick one with --event-filter=EVENT`,
      );
    }
    if (!this.#o.eventFilter && this.#oneLineEvents.size > 1) {
      out.push(
        `samples of several events are mixed: ${[...this.#oneLineEvents].join(", ")}. ` +
          "Pick one with --event-filter=EVENT",
      );
    }
    if (this.#samples === 0) {
      const seen = [...new Set([...this.#events, ...this.#oneLineEvents])];
      if (this.#o.eventFilter && seen.length !== 0) {
        out.push(`no samples of event '${this.#o.eventFilter}'; the input has ${seen.join(", ")}`);
      } else {
        out.push("no samples in the input: the output is empty");
      }
    }
    return out;
  }
}
