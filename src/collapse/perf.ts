/**
 * The `perf script` collapser: folds perf's text output into folded stacks with
 * stackcollapse-perf.pl's semantics, byte for byte, plus the fixes listed in the conformance
 * README (top-level `(` cut, Rust repair, jitted-*.so is JIT, vmlinux-<ver> and .ko are kernel,
 * one-line samples folded, --srcline reads only real source lines). One more: Perl drops every
 * symbol that starts with `(` (meant for process names), which loses all C++ functions in an
 * `(anonymous namespace)`; flame keeps those.
 *
 * It streams: text is pushed in chunks of any size and memory holds the distinct stacks, bounded
 * caches and at most one chunk of text. A sample is read as one block: its frame lines, the
 * root-most first, walk down a tree of distinct stacks (perf_stacks.ts), one step per line. Most
 * lines repeat one that led on from the same node lately (a hint), or name its frame at another
 * address or offset, and take no lookup; the others are looked up in a cache of the lines read
 * (by their text after the address, which JIT code and moved mappings change without changing
 * the frame), and each distinct line is parsed once. Nothing is tidied or joined per sample:
 * each distinct frame is tidied once and each distinct stack folded once, at the end.
 *
 * Perl's line-by-line state machine is kept exactly (`#line`), including its quirks: frames
 * before a header that was filtered out are ignored, a header without a blank line before it
 * joins the previous frames, and a sample is only counted at the blank line that ends it.
 */
import { addStack, type FoldedStacks } from "../folded/stacks.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";
import { InlineResolver, type RunTool } from "./perf_inline.ts";
import {
  addressEnd,
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
import {
  cleanSrcline,
  finalName,
  splitInlineChain,
  stripOffset,
  tidyFunction,
} from "./perf_symbols.ts";
import { type Frame, type LineText, newFrame, type StackNode, StackTree } from "./perf_stacks.ts";

/** One frame handed to the {@link PerfOptions.transform} and {@link PerfOptions.onStack} hooks. */
export interface RawFrame {
  /** The symbol as perf printed it without its `+0x..` offset, not yet tidied. */
  sym: string;
  /**
   * The module (DSO) perf printed in parentheses. An `(inlined)` frame gets the module of the
   * next frame towards the root that is not inlined.
   */
  module: string;
  /**
   * Set by a transform: the frame's final name (`fib (work.py)`). It is not tidied: no argument
   * list is cut, nothing is repaired or dropped; only `;` becomes `:` and the marks the options
   * ask for (`_[k]`, `_[j]`) are added.
   */
  display?: string;
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
   * Rewrites a stack's frames (leaf first) before they are tidied: return the frames to keep,
   * in the same order, with `sym` renamed (to be tidied) or `display` set (final) where wanted.
   * Return the objects you were given to keep their addresses for `addrs` and `inline`. It runs
   * once per distinct stack (stacks that differ only in addresses or offsets are one).
   */
  transform?: (frames: RawFrame[]) => RawFrame[];
  /**
   * Sees each distinct stack once, before the transform: its raw frames (leaf first) and how
   * many samples had it. The frames are only valid during the call.
   */
  onStack?: (frames: readonly RawFrame[], samples: number) => void;
  /** Called with the header line of every sample read (also of samples filtered out). */
  onHeader?: (line: string) => void;
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

/** A frame line read line by line, before folding. */
interface FrameRecord extends FrameLine {
  /** The source line perf printed after the frame (`--srcline`), cleaned. */
  srcline?: string;
  /** What the frame's folded form is cached by: its text (and its source line's). */
  key: string;
  /** The process name was `java...` when the frame was read (Java names are tidied more). */
  java: boolean;
}

/** A frame of one sample on its way to the hooks: its distinct frame and the sample's context. */
interface SampleFrame {
  frame: Frame;
  /** Read under a process name that starts with `java`. */
  java: boolean;
}

/** The frames of a `--srcline` block (leaf first) and its unrecognized lines. */
interface SrclineBlock {
  frames: Frame[];
  bad: number;
  /** The index of the first unrecognized line. */
  firstBad: number;
}

/** The event and period of a header, and the header's end they were read from. */
interface HeaderTail {
  suffix: string;
  event: string;
  period: number;
}

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

/** A frame line read (the first seen with its cache key) and its frame. */
interface LineEntry extends LineText {
  frame: Frame;
}

/** What a frame line that is no frame is cached as. */
const NOT_A_FRAME = newFrame("", "", "", "");
/** What a line that is a whole one-line sample is cached as (the block is read line by line). */
const ONE_LINE = newFrame("", "", "", "");

/** #blockLines: the text ends before the blank line. */
const NO_BLANK = -1;
/** #blockLines: the block is longer than MAX_BLOCK. */
const TOO_LONG = -2;
/** A sample longer than this is read line by line instead of as one block. */
const MAX_BLOCK = 1 << 20;
/** Characters kept of one line; the rest is dropped (with a warning). */
const MAX_LINE = 1 << 24;
/**
 * Characters each cache may hold by default (keys and values): some 30,000 frame lines, more
 * than the recordings measured here have (a 44 MB system-wide one: 17,000).
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

/** The frames the hooks see (leaf first): an inlined frame gets the module of its caller. */
function rawFrames(frames: readonly SampleFrame[]): RawFrame[] {
  const out: RawFrame[] = new Array(frames.length);
  let outer = "inlined";
  for (let i = frames.length - 1; i >= 0; i--) {
    const { sym, module } = frames[i].frame;
    if (module !== "inlined") outer = module;
    out[i] = { sym, module: module === "inlined" ? outer : module };
  }
  return out;
}

/** Folded frames, leaf first, joined root first; null when none gives a frame. */
function joinFolded(folded: readonly (string | null)[]): string | null {
  let out: string | null = null;
  for (let i = folded.length - 1; i >= 0; i--) {
    const f = folded[i];
    if (f !== null) out = out === null ? f : `${out};${f}`;
  }
  return out;
}

/** True for a root frame (process name) whose names are tidied as Java's. */
function isJava(root: string): boolean {
  return root.startsWith("java");
}

/** A copy of `a` twice as long. */
function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * A copy of `s` that does not share the chunk of input it was sliced from. V8 keeps a whole
 * chunk alive as long as any slice of it is: text kept in a cache must not hold on to 64 KiB.
 */
function detached(s: string): string {
  return (" " + s).slice(1);
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
  /** Folding needs frames' addresses (`--addrs`, `--inline`): lines are cached whole. */
  readonly #addresses: boolean;
  readonly #cacheChars: number;
  readonly #stacks: FoldedStacks = new Map();
  /** The samples read as whole blocks, by stack. */
  readonly #tree = new StackTree();
  /** Every distinct frame, by its symbol and module (and address where that matters). */
  readonly #frames = new Map<string, Frame>();

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

  // Frame lines read, by their text after the address, or by their whole text.
  readonly #byTail = new Map<string, LineEntry>();
  readonly #byLine = new Map<string, LineEntry>();
  /** Recent header starts, RECENT_HEADS at most, the latest first. */
  readonly #heads: RecentHead[] = [];
  /** The end of the last header parsed, from the `:` after the time on, and what it gave. */
  #lastTail: HeaderTail | undefined;
  /** Where the lines of the block being read start, and the blank line after them (reused). */
  #starts = new Int32Array(256);
  /** Lines in the block #starts holds. */
  #blockSize = 0;
  /** What the last #walk saw: unrecognized lines, and the index of the first. */
  readonly #walked = { bad: 0, firstBad: 0 };
  readonly #lineUse = new CacheUse();
  /** `--srcline` blocks read, by their text (null: read line by line). */
  readonly #srclineBlocks = new Map<string, SrclineBlock | null>();
  readonly #blockUse = new CacheUse();
  // Line by line, folded frames: [not java, java] (a `java` process name changes the tidying).
  readonly #frameCache = [new Map<string, string | null>(), new Map<string, string | null>()];
  readonly #frameUse = new CacheUse();

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
    this.#fast = !this.#o.lineByLine;
    this.#addresses = this.#o.addrs || this.#o.inline;
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
    this.#foldTree();
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
   * Whole samples are read as blocks (#fastSample); everything else goes line by line. Unless
   * `final`, a sample whose closing blank line is not in `text` yet is left for the next chunk.
   */
  #scan(text: string, start: number, final: boolean): number {
    for (const head of this.#heads) {
      head.block = "";
      head.node = undefined;
    }
    let pos = start;
    const n = text.length;
    while (pos < n) {
      if (this.#fast && this.#pname === undefined && !this.#oneLinePending) {
        const c = text.charCodeAt(pos);
        if (c !== 35 /* # */ && !isPerlSpace(c)) {
          const eol = text.indexOf("\n", pos);
          if (eol === -1) return pos;
          const end = this.#blockLines(text, eol);
          if (end >= 0) {
            const next = this.#fastSample(text, pos, eol, end);
            if (next !== -1) {
              pos = next;
              continue;
            }
          } else if (end === NO_BLANK && !final && n - pos <= MAX_BLOCK) {
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
   * Finds the lines of the sample block after the header line that ends at `eol`, up to the
   * blank line that ends it: their starts go to #starts (#blockSize of them, and the blank line's
   * start after them). Returns where the last line ends (the `\n` before the blank line; `eol`
   * for no lines), or NO_BLANK when `text` ends first, or TOO_LONG past MAX_BLOCK characters.
   */
  #blockLines(text: string, eol: number): number {
    let starts = this.#starts;
    let n = 0;
    for (let p = eol + 1;; n++) {
      if (p - eol > MAX_BLOCK) return TOO_LONG;
      if (n === starts.length) starts = this.#starts = grow(starts);
      starts[n] = p;
      const c = text.charCodeAt(p);
      if (c === 10) {
        this.#blockSize = n;
        return p - 1;
      }
      if (c !== c) return NO_BLANK; // NaN: the end of the text
      const nl = text.indexOf("\n", p);
      if (nl === -1) return NO_BLANK;
      p = nl + 1;
    }
  }

  /**
   * Counts the sample whose header is `text[pos, eol)` and whose frame lines (#starts) end at
   * the blank line after `end`. Returns the position after the blank line, or -1 when the sample
   * needs the line-by-line path (then nothing has been counted).
   */
  #fastSample(text: string, pos: number, eol: number, end: number): number {
    const header = text.slice(pos, eol);
    const head = this.#recentHead(header);
    if (head === undefined) return -1;
    const tail = this.#headerTail(header);
    if (tail === undefined) return -1; // maybe a one-line sample: the slow path knows
    // A thread's samples often repeat its last one exactly (an idle loop, a blocked call).
    const block = text.slice(eol + 1, end);
    let node = block === head.block ? head.node : undefined;
    if (node !== undefined) {
      this.#walked.bad = 0;
    } else {
      node = this.#o.srcline ? this.#srclineWalk(block, head.root) : this.#walk(text, head.root);
      if (node === undefined) return -1;
      head.block = block;
      head.node = this.#walked.bad === 0 ? node : undefined;
    }
    this.#reader.end();
    const lineNo = this.#lineNo + 1;
    this.#lineNo += this.#blockSize + 2;
    const { bad, firstBad } = this.#walked;
    if (bad !== 0) {
      if (this.#unrecognized === 0) {
        const line = text.slice(this.#starts[firstBad], this.#starts[firstBad + 1] - 1);
        this.#firstBad = { lineNo: lineNo + 1 + firstBad, text: detached(line) };
      }
      this.#unrecognized += bad;
    }
    this.#sawEvent = true;
    this.#o.onHeader?.(header);
    if (this.#accepts(tail.event)) {
      node.period += tail.period;
      node.samples++;
      this.#samples++;
    }
    return end + 2;
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
    const root = this.#tree.root(this.#rootName(parsed), detached);
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
    const { event, period } = parseEventTail(suffix)!;
    return this.#lastTail = { suffix, event, period: periodValue(period) };
  }

  /**
   * Walks the frame lines of the block (#starts) down the tree from `node`, root-most line
   * first, and returns the node of the stack (noting unrecognized lines in #walked), or
   * undefined when a line needs the line-by-line path. A line equal to one of the node's hints
   * is a step without a lookup.
   */
  #walk(text: string, node: StackNode): StackNode | undefined {
    const starts = this.#starts;
    const walked = this.#walked;
    walked.bad = 0;
    for (let i = this.#blockSize - 1; i >= 0; i--) {
      const p = starts[i];
      const q = starts[i + 1] - 1;
      const hinted = node.hinted(text, p, q);
      if (hinted !== undefined) {
        node = hinted;
        continue;
      }
      if (!isPerlSpace(text.charCodeAt(p))) return undefined;
      const at = this.#addresses ? -1 : addressEnd(text, p, q);
      const key = text.slice(at === -1 ? p : at, q);
      const same = at === -1 ? undefined : node.hintedFrame(text, at, q, key);
      if (same !== undefined) {
        node = same;
        continue;
      }
      const line = this.#lineOf(text, p, q, at, key);
      if (line.frame === ONE_LINE) return undefined;
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
      if (this.#blockUse.admits(block.length, this.#srclineBlocks, this.#cacheChars)) {
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

  /** Reads a `--srcline` block, or returns null when it needs the line-by-line path. */
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
      if (mayBeOneLineSample(line) && parseOneLineSample(line) !== undefined) return null;
      reader.frameLine(line, i, true);
    }
    reader.end();
    read.frames = reader.take().map((r) => this.#recordFrame(r));
    return read;
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
      if (this.#lineUse.admits(entry.text.length, cache, this.#cacheChars)) {
        cache.set(entry.tail ?? entry.text, entry);
      }
    }
    return entry;
  }

  /**
   * Reads an indented line of a sample's block (a cache miss); `at` is where its address ends,
   * or negative when the line is cached whole.
   */
  #readLine(line: string, at: number): LineEntry {
    if (mayBeOneLineSample(line) && parseOneLineSample(line) !== undefined) {
      return { text: line, tail: undefined, frame: ONE_LINE };
    }
    const parsed = parseFrameLine(line);
    if (parsed === undefined) return { text: line, tail: undefined, frame: NOT_A_FRAME };
    const frame = this.#frameOf(parsed.pc, parsed.sym, parsed.module);
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
   * The distinct frame of a parsed frame line. Frames that fold alike are one: the offset is
   * dropped, and the address too unless `--addrs` shows it or `--inline` looks it up. The
   * strings may be kept: they must not be slices of a chunk of input (see detached).
   */
  #frameOf(pc: string, rawSym: string, module: string, srcline?: string): Frame {
    const sym = stripOffset(rawSym);
    const exact = (this.#o.addrs && sym === "[unknown]") ||
      (this.#inline !== undefined && this.#inline.applies(module));
    let key = exact ? `${pc}\n${rawSym}\n${module}` : `${sym}\n${module}`;
    if (srcline !== undefined) key += `\n${srcline}`;
    let frame = this.#frames.get(key);
    if (frame === undefined) {
      frame = newFrame(exact ? pc : "", rawSym, sym, module, srcline);
      this.#frames.set(key, frame);
    }
    return frame;
  }

  /** A distinct frame's folded form (worked out once for each kind of process). */
  #folded(frame: Frame, java: boolean): string | null {
    if (java) {
      if (frame.foldedJava === undefined) frame.foldedJava = this.#foldFrame(frame, true);
      return frame.foldedJava;
    }
    if (frame.folded === undefined) frame.folded = this.#foldFrame(frame, false);
    return frame.folded;
  }

  /** Folds the stacks of the tree into the folded stacks, each distinct stack once. */
  #foldTree(): void {
    if (this.#o.transform === undefined && this.#o.onStack === undefined) {
      this.#tree.fold(
        (frame, root) => this.#folded(frame, isJava(root)),
        (stack, node) => addStack(this.#stacks, stack, node.period),
      );
      return;
    }
    this.#tree.forEach((root, node: StackNode) => {
      const java = isJava(root);
      const frames = node.frames().map((frame): SampleFrame => ({ frame, java }));
      const suffix = this.#foldHooked(frames, node.samples);
      addStack(this.#stacks, suffix === null ? root : `${root};${suffix}`, node.period);
    });
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
        this.#o.onHeader?.(text);
        if (one !== undefined) this.#oneLine(one);
        else this.#event(head, tail);
        return;
      }
    } else {
      const one = this.#oneLineSample(text);
      if (one !== undefined) {
        this.#reader.end();
        this.#o.onHeader?.(text);
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
  #foldFrames(records: FrameRecord[]): string | null {
    if (this.#o.transform !== undefined || this.#o.onStack !== undefined) {
      const frames = records.map((r): SampleFrame => ({
        frame: this.#recordFrame(r),
        java: r.java,
      }));
      return this.#foldHooked(frames, 1);
    }
    let out: string | null = null;
    for (let i = records.length - 1; i >= 0; i--) {
      const folded = this.#foldCached(records[i]);
      if (folded !== null) out = out === null ? folded : `${out};${folded}`;
    }
    return out;
  }

  /** The distinct frame of a frame line read line by line (with its source line, if any). */
  #recordFrame(r: FrameRecord): Frame {
    const srcline = r.srcline === undefined ? undefined : detached(r.srcline);
    return this.#frameOf(detached(r.pc), detached(r.sym), detached(r.module), srcline);
  }

  #foldCached(record: FrameRecord): string | null {
    const cache = this.#frameCache[record.java ? 1 : 0];
    let folded = this.#frameLookup(cache, record.key);
    if (folded === undefined) {
      folded = this.#foldFrame(this.#recordFrame(record), record.java);
      this.#rememberFrame(cache, record.key, folded);
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
      cache.set(detached(key), folded);
    }
  }

  /**
   * Folds one frame into its frames (several for a `->` chain or --inline), root first and
   * joined by `;`, or null when it gives none.
   */
  #foldFrame(frame: Frame, java: boolean): string | null {
    const { pc, sym, module, srcline } = frame;
    if (this.#inline !== undefined && pc !== "" && this.#inline.applies(module)) {
      const inlined = this.#inline.resolve(pc, frame.rawSym, module);
      if (inlined !== "" && inlined !== "??" && inlined !== "??:??:0") return inlined;
    }
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

  /**
   * Folds one stack (leaf first) through the hooks: `onStack` sees its raw frames, then the
   * transform rewrites them and what it returns is folded.
   */
  #foldHooked(frames: readonly SampleFrame[], samples: number): string | null {
    const raw = rawFrames(frames);
    this.#o.onStack?.(raw, samples);
    const transform = this.#o.transform;
    if (transform === undefined) {
      return joinFolded(frames.map((f) => this.#folded(f.frame, f.java)));
    }
    const given = raw.map(({ sym, module }) => ({ sym, module }));
    const index = new Map(raw.map((f, i) => [f, i]));
    const java = frames.length !== 0 && frames[0].java;
    return joinFolded(
      transform(raw).map((f) => {
        const at = index.get(f);
        return at === undefined
          ? this.#foldReturned(f, undefined, java)
          : this.#foldReturned(f, { ...frames[at], given: given[at] }, java);
      }),
    );
  }

  /**
   * Folds a frame the transform returned. `origin` is the sample's frame it was given as, and
   * what it was given: a frame left as it was folds as perf printed it (offset, `inlined`
   * module).
   */
  #foldReturned(
    f: RawFrame,
    origin: SampleFrame & { given: { sym: string; module: string } } | undefined,
    java: boolean,
  ): string | null {
    const module = origin !== undefined && f.module === origin.given.module
      ? origin.frame.module
      : f.module;
    const srcline = origin?.frame.srcline;
    if (f.display !== undefined) {
      const name = finalName(f.display, module, this.#o);
      return srcline ? `${name}:${srcline}` : name;
    }
    if (origin !== undefined && f.sym === origin.given.sym && module === origin.frame.module) {
      return this.#folded(origin.frame, origin.java);
    }
    const renamed = newFrame(origin?.frame.pc ?? "", f.sym, f.sym, module, srcline);
    return this.#foldFrame(renamed, origin?.java ?? java);
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
