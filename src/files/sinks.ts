/**
 * Where the walk goes: straight out as folded lines (`FoldedLineSink`: one line per entry,
 * written as bytes, constant memory), or into a tree aggregated for drawing (`TreeSink`), whose
 * memory is bounded by what the graph can show rather than by the number of files.
 */
import type { FoldedStacks } from "../folded/stacks.ts";
import { escapeNameBytes } from "./escape.ts";
import type { ByteWriter } from "../io/output.ts";
import { groupDigits } from "../format.ts";
import type { WalkSink } from "./walk.ts";

const encoder = new TextEncoder();
const SEMICOLON = 0x3b;
const SPACE = 0x20;
const NEWLINE = 0x0a;
/** An escaped name takes at most 4 bytes per byte of the name (`\xNN`). */
const ESCAPE_GROWTH = 4;
/** Room for ` VALUE\n` with a value below 2^53. */
const VALUE_ROOM = 24;

/**
 * Appends the escaped form of `name[start..end)` to `out` at `pos` (which has room for
 * ESCAPE_GROWTH bytes per name byte) and returns the new end. Plain printable ASCII, nearly
 * every name, is copied byte for byte; anything else goes through `escapeNameBytes`.
 */
export function appendEscaped(
  out: Uint8Array,
  pos: number,
  name: Uint8Array,
  start: number,
  end: number,
): number {
  let p = pos;
  for (let i = start; i < end; i++) {
    const b = name[i];
    if (b < 0x20 || b >= 0x7f || b === SEMICOLON || b === 0x5c) {
      const text = escapeNameBytes(name, start, end);
      return pos + encoder.encodeInto(text, out.subarray(pos)).written;
    }
    out[p++] = b;
  }
  return p;
}

/** Appends the decimal digits of a non-negative integer below 2^53 and returns the new end. */
export function appendUint(out: Uint8Array, pos: number, value: number): number {
  let digits = 1;
  for (let power = 10; power <= value; power *= 10) digits++;
  let v = value;
  if (v < 0x80000000) {
    // Small integer arithmetic, much cheaper than Math.floor on doubles.
    let i = v | 0;
    for (let at = pos + digits - 1; at >= pos; at--) {
      const q = (i / 10) | 0;
      out[at] = 0x30 + i - q * 10;
      i = q;
    }
  } else {
    for (let at = pos + digits - 1; at >= pos; at--) {
      out[at] = 0x30 + (v % 10);
      v = Math.floor(v / 10);
    }
  }
  return pos + digits;
}

/**
 * Writes `dir;sub;name VALUE` for every entry, directories included (their line holds their
 * own value), in walk order, in blocks of `blockSize` bytes.
 */
export class FoldedLineSink implements WalkSink {
  #buf: Uint8Array;
  #pos = 0;
  /** The current directory's escaped stack plus `;` (empty at the top)... */
  #prefix = new Uint8Array(4096);
  #prefixLength = 0;
  /** ...and a view of exactly that, made once per directory, copied by `set` per line. */
  #head = this.#prefix.subarray(0, 0);
  readonly #prefixLengths: number[] = [];

  constructor(private readonly out: ByteWriter, private readonly blockSize = 1 << 18) {
    this.#buf = new Uint8Array(blockSize);
  }

  enter(name: Uint8Array, start: number, end: number, value: number): void {
    this.#prefixLengths.push(this.#prefixLength);
    this.#growPrefix(end - start);
    const stackEnd = appendEscaped(this.#prefix, this.#prefixLength, name, start, end);
    this.#line(this.#prefix.subarray(0, stackEnd), undefined, 0, 0, value);
    this.#prefix[stackEnd] = SEMICOLON;
    this.#setPrefixLength(stackEnd + 1);
  }

  entry(name: Uint8Array, start: number, end: number, value: number): void {
    this.#line(this.#head, name, start, end, value);
  }

  leave(): void {
    this.#setPrefixLength(this.#prefixLengths.pop() ?? 0);
  }

  /** Writes out what is buffered. */
  flush(): void {
    if (this.#pos > 0) this.out.write(this.#buf.subarray(0, this.#pos));
    this.#pos = 0;
  }

  /** Buffers `head`, the escaped name (if any), ` VALUE\n`. */
  #line(
    head: Uint8Array,
    name: Uint8Array | undefined,
    start: number,
    end: number,
    value: number,
  ): void {
    const need = head.length + (end - start) * ESCAPE_GROWTH + VALUE_ROOM;
    if (this.#pos + need > this.#buf.length) {
      this.flush();
      if (need > this.#buf.length) this.#buf = new Uint8Array(Math.max(need, this.blockSize));
    }
    const buf = this.#buf;
    buf.set(head, this.#pos);
    let p = this.#pos + head.length;
    if (name) p = appendEscaped(buf, p, name, start, end);
    buf[p++] = SPACE;
    p = appendUint(buf, p, value);
    buf[p++] = NEWLINE;
    this.#pos = p;
  }

  #setPrefixLength(length: number): void {
    this.#prefixLength = length;
    this.#head = this.#prefix.subarray(0, length);
  }

  #growPrefix(nameLength: number): void {
    const need = this.#prefixLength + nameLength * ESCAPE_GROWTH + 1;
    if (need <= this.#prefix.length) return;
    const bigger = new Uint8Array(Math.max(need, this.#prefix.length * 2));
    bigger.set(this.#prefix.subarray(0, this.#prefixLength));
    this.#prefix = bigger;
  }
}

/** A directory in the aggregated tree. */
interface DirNode {
  frame: string;
  /** The directory's own value. */
  self: number;
  /** Everything in and below it, itself included. */
  total: number;
  /** Entries in and below it, itself included. */
  entries: number;
  fileFrames: string[];
  fileValues: number[];
  dirs: DirNode[];
  /** Entries (nested ones included) folded into one "small entries" frame, and their sum. */
  smallCount: number;
  smallTotal: number;
}

function newNode(frame: string, value: number): DirNode {
  return {
    frame,
    self: value,
    total: value,
    entries: 1,
    fileFrames: [],
    fileValues: [],
    dirs: [],
    smallCount: 0,
    smallTotal: 0,
  };
}

/**
 * The frame standing for a directory's folded small entries. It holds a `/`, which no file
 * name can, when a real entry of the directory has the plain label.
 */
export function smallEntriesFrame(count: number, taken: (frame: string) => boolean): string {
  const label = `(${groupDigits(count)} small ${count === 1 ? "entry" : "entries"})`;
  return taken(label) ? `${label} /` : label;
}

/**
 * Aggregates the walk into a tree for the renderer. The tree is exact while it holds at most
 * `nodeLimit` nodes (files and directories; 65,536 by default, about 25 MB here, while a
 * graph shows a few thousand frames). Beyond that, memory must not grow with the number of
 * files: entries and whole subtrees worth less than
 * `minFraction` of the total seen so far are folded into one `(N small entries)` frame per
 * directory. The renderer would not have drawn them one by one anyway (the final total can
 * only be larger), widths are unchanged, and they never pose as a directory's own size. From
 * then on each directory is folded as it completes; should the tree still outgrow the limit,
 * the limit doubles, so the work stays linear.
 */
export class TreeSink implements WalkSink {
  /** A pseudo-node whose children are the DIRs. */
  readonly #top = newNode("", 0);
  readonly #stack: DirNode[] = [this.#top];
  #total = 0;
  #nodes = 0;
  #limit: number;
  #folding = false;

  constructor(private readonly minFraction = 0, nodeLimit = 1 << 16) {
    this.#limit = nodeLimit;
  }

  enter(name: Uint8Array, start: number, end: number, value: number): void {
    this.#total += value;
    this.#stack.push(newNode(escapeNameBytes(name, start, end), value));
  }

  entry(name: Uint8Array, start: number, end: number, value: number): void {
    const dir = this.#stack[this.#stack.length - 1];
    dir.fileFrames.push(escapeNameBytes(name, start, end));
    dir.fileValues.push(value);
    dir.total += value;
    dir.entries++;
    this.#total += value;
    if (++this.#nodes > this.#limit) this.#foldAll();
  }

  leave(): void {
    const done = this.#stack.pop()!;
    const parent = this.#stack[this.#stack.length - 1];
    parent.total += done.total;
    parent.entries += done.entries;
    parent.dirs.push(done);
    this.#nodes++;
    if (this.#folding) this.#fold(done, false);
    if (this.#nodes > this.#limit) this.#foldAll();
  }

  /** Nodes held (files and directories). */
  get nodeCount(): number {
    return this.#nodes;
  }

  /** The sum of every value seen. */
  get total(): number {
    return this.#total;
  }

  /**
   * The tree as folded stacks: each file with its value, each directory with its own value
   * (left out when 0 and it has children, which imply the frame), each directory's folded
   * small entries as one frame.
   */
  stacks(): FoldedStacks {
    const out: FoldedStacks = new Map();
    const visit = (node: DirNode, prefix: string) => {
      for (let i = 0; i < node.fileFrames.length; i++) {
        add(out, prefix + node.fileFrames[i], node.fileValues[i]);
      }
      if (node.smallCount > 0) {
        const taken = (f: string) =>
          node.fileFrames.includes(f) || node.dirs.some((d) => d.frame === f);
        add(out, prefix + smallEntriesFrame(node.smallCount, taken), node.smallTotal);
      }
      for (const dir of node.dirs) {
        const stack = prefix + dir.frame;
        if (dir.self > 0 || dir.entries === 1) add(out, stack, dir.self);
        visit(dir, stack + ";");
      }
    };
    visit(this.#top, "");
    return out;
  }

  /** Folds `node`'s small files and subtrees; with `deep`, at every level below too. */
  #fold(node: DirNode, deep: boolean): void {
    const min = this.#total * this.minFraction;
    if (min <= 0) return;
    if (node !== this.#top) this.#foldFiles(node, min);
    const dirs = node.dirs;
    let kept = 0;
    for (const dir of dirs) {
      // DIRs themselves always stay, so every root keeps its frame.
      if (node !== this.#top && dir.total < min) {
        node.smallCount += dir.entries;
        node.smallTotal += dir.total;
        this.#nodes -= 1 + countNodes(dir);
      } else {
        if (deep) this.#fold(dir, true);
        dirs[kept++] = dir;
      }
    }
    dirs.length = kept;
  }

  #foldFiles(node: DirNode, min: number): void {
    const frames = node.fileFrames;
    const values = node.fileValues;
    let kept = 0;
    for (let i = 0; i < frames.length; i++) {
      if (values[i] < min) {
        node.smallCount++;
        node.smallTotal += values[i];
      } else {
        frames[kept] = frames[i];
        values[kept++] = values[i];
      }
    }
    this.#nodes -= frames.length - kept;
    frames.length = kept;
    values.length = kept;
  }

  /** Folds the whole tree; doubles the limit when that frees too little. */
  #foldAll(): void {
    this.#folding = true;
    for (const node of this.#stack) this.#fold(node, true);
    if (this.#nodes > this.#limit / 2) this.#limit *= 2;
  }
}

/** Nodes held below `node` (its files and directories, recursively). */
function countNodes(node: DirNode): number {
  let n = node.fileFrames.length + node.dirs.length;
  for (const dir of node.dirs) n += countNodes(dir);
  return n;
}

function add(stacks: FoldedStacks, stack: string, value: number): void {
  stacks.set(stack, (stacks.get(stack) ?? 0) + value);
}
