/**
 * Reading `perf script` text line by line with stackcollapse-perf.pl's state machine, quirks
 * included: frames before a header that was filtered out are ignored, a header without a blank
 * line before it joins the previous frames, and a sample is only counted at the blank line
 * that ends it. Samples that the block reader (perf_blocks.ts) cannot take come here: one-line
 * samples, lines that are no frame, samples too long to hold, and all of them with the
 * line-by-line option. Both readers put the samples in one tree of stacks (perf_state.ts).
 */
import { CacheUse, detached } from "./cache.ts";
import {
  type EventHeader,
  type EventTail,
  type FrameLine,
  isPerlSpace,
  type OneLineSample,
  oneLineSample,
  parseBareFrameLine,
  parseEventHead,
  parseEventTail,
  parseFrameLine,
  periodValue,
} from "./perf_lines.ts";
import { timedSample } from "./perf_events.ts";
import { cleanSrcline } from "./perf_symbols.ts";
import type { Frame } from "./perf_stacks.ts";
import type { PerfState } from "./perf_state.ts";

/** A frame line read line by line, before folding. */
export interface FrameRecord extends FrameLine {
  /** The source line perf printed after the frame (`--srcline`), cleaned. */
  srcline?: string;
  /** What the frame's distinct frame is cached by: its text (and its source line's). */
  key: string;
  /** The process name was `java...` when the frame was read (Java names are tidied more). */
  java: boolean;
}

/** True for a line of whitespace only (Perl's `\s`). */
export function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) if (!isPerlSpace(line.charCodeAt(i))) return false;
  return true;
}

/** A `--srcline` source line: indented, and neither a frame nor a module-less frame. */
function looksLikeSrcline(line: string): boolean {
  return line.length > 0 && isPerlSpace(line.charCodeAt(0)) && line.trim() !== "" &&
    parseFrameLine(line) === undefined && parseBareFrameLine(line) === undefined;
}

/**
 * Reads the frame lines of one sample. With `--srcline`, a frame may be followed by its source
 * line; a line is taken as one only when it is not a frame itself, so a frame for which perf
 * printed no source line takes no suffix and the next line keeps its meaning.
 */
export class FrameReader {
  frames: FrameRecord[] = [];
  /** The process name of the sample being read starts with `java`. */
  java = false;
  /** `--srcline`: the last frame, which the next line may give a source line. */
  #pending?: FrameRecord;
  /** `--srcline`: a frame printed without module (perf's inlined frame), waiting for its line. */
  #bare?: { pc: string; sym: string; line: string; lineNo: number; keep: boolean };
  /** Some frame line had a hexadecimal address (the input looks like perf script's). */
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
    if (isBlank(line)) return; // spaces only: no frame, nothing wrong (and no sample's end)
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

/** What the line reader needs besides the shared state. */
export interface LineReadOptions {
  /** The input is `perf script -F+srcline`: frames may be followed by their source line. */
  srcline: boolean;
  /** Characters the cache of frame lines may hold. */
  cacheChars: number;
}

/** Reads perf script text line by line, as stackcollapse-perf.pl's main loop does. */
export class LineReader {
  // Perl's state.
  #pname: string | undefined;
  #period = 1;
  /** The period is a clock event's (`timedSample`). */
  #timed = false;
  readonly #reader: FrameReader;
  /** `--srcline`: a one-line sample waiting for its frame's source line. */
  #oneLinePending = false;
  /** The first line that is neither blank nor a comment (named if the input is not perf's). */
  firstContent: { lineNo: number; text: string } | undefined;
  /** Frame lines read, by their text: their distinct frames (bounded). */
  readonly #frameCache = new Map<string, Frame>();
  readonly #frameUse = new CacheUse();

  constructor(private readonly state: PerfState, private readonly options: LineReadOptions) {
    this.#reader = new FrameReader(
      options.srcline,
      (line, lineNo) => state.bad(1, lineNo, () => line),
    );
  }

  /** True between samples: the next sample may be read as a whole block. */
  get idle(): boolean {
    return this.#pname === undefined && !this.#oneLinePending;
  }

  /** Some frame line had a hexadecimal address. */
  get sawFrame(): boolean {
    return this.#reader.sawFrame;
  }

  /** Ends the frame lines read (a sample block is read elsewhere next). */
  endFrames(): void {
    // Only source lines (--srcline) leave a frame waiting for its next line.
    if (this.options.srcline) this.#reader.end();
  }

  /** One line (without its newline). */
  line(text: string, lineNo: number): void {
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
    if (this.firstContent === undefined && !isBlank(text)) {
      this.firstContent = { lineNo, text: detached(text) };
    }
    if (this.#reader.takeSrcline(text)) return;
    if (!isPerlSpace(c)) {
      const head = parseEventHead(text);
      if (head !== undefined) {
        const tail = parseEventTail(text);
        const one = tail === undefined ? oneLineSample(text) : undefined;
        this.#reader.end();
        this.state.header(text);
        if (one !== undefined) this.#oneLine(one);
        else this.#event(head, tail);
        return;
      }
    } else {
      const one = oneLineSample(text);
      if (one !== undefined) {
        this.#reader.end();
        this.state.header(text);
        this.#oneLine(one);
        return;
      }
    }
    this.#reader.frameLine(text, lineNo, this.#pname !== undefined);
  }

  /** Ends the input; true when it ended inside a sample (which is then dropped). */
  finish(): boolean {
    this.#reader.end();
    if (this.#oneLinePending) this.#endSample();
    const dropped = this.#pname !== undefined;
    this.#pname = undefined;
    return dropped;
  }

  /** An event header: Perl's filter, period and process name. */
  #event(head: EventHeader, tail: EventTail | undefined): void {
    if (tail !== undefined) {
      this.state.sawEvent = true;
      if (!this.state.events.accepts(tail.event)) return;
    }
    this.#period = periodValue(tail?.period);
    this.#timed = timedSample(tail?.event, tail?.period);
    this.#pname = this.state.rootName(head);
    this.#reader.java = head.comm.startsWith("java");
  }

  /** A one-line sample (no call chain): a header, its frame, and the end of the sample. */
  #oneLine(one: OneLineSample): void {
    this.state.sawEvent = true;
    if (!this.state.events.acceptsOneLine(one.event)) return;
    this.#period = periodValue(one.period);
    this.#timed = timedSample(one.event, one.period);
    this.#pname = this.state.rootName(one);
    const java = one.comm.startsWith("java");
    this.#reader.java = java;
    const { pc, sym, module } = one.frame;
    this.#reader.addFrame({ pc, sym, module, key: `${pc}\0${sym}\0${module}`, java });
    if (this.options.srcline) this.#oneLinePending = true;
    else this.#endSample();
  }

  /** The blank line that ends a sample: counts it if a header was accepted. */
  #endSample(): void {
    this.#reader.end();
    const pname = this.#pname;
    if (pname === undefined) return;
    const records = this.#reader.take();
    const rootJava = pname.startsWith("java");
    let node = this.state.root(pname);
    for (let i = records.length - 1; i >= 0; i--) {
      node = node.child(this.#frameOf(records[i], rootJava));
    }
    this.state.count(node, this.#period, this.#timed);
    this.#pname = undefined;
  }

  /**
   * The distinct frame of a frame read line by line. Perl tidies a frame for the process name
   * it was read under: where that is not the stack's root (a header with no blank line before
   * it), the frame says so itself.
   */
  #frameOf(r: FrameRecord, rootJava: boolean): Frame {
    if (r.java !== rootJava) {
      return this.state.frames.frameOfSlices(r.pc, r.sym, r.module, r.srcline, r.java);
    }
    const cache = this.#frameCache;
    let frame = cache.get(r.key);
    if (this.#frameUse.looked(frame !== undefined)) {
      cache.clear();
      this.#frameUse.emptied();
    }
    if (frame === undefined) {
      frame = this.state.frames.frameOfSlices(r.pc, r.sym, r.module, r.srcline);
      if (this.#frameUse.admits(r.key.length, cache, this.options.cacheChars)) {
        cache.set(detached(r.key), frame);
      }
    }
    return frame;
  }
}
