/**
 * The samples of a perf recording as a tree: each distinct frame is one object ({@link Frame},
 * made once by the {@link FrameTable}), and each distinct stack is one path from a root (the process name) through its frames, root
 * first. A sample walks down from its root, one child per frame, and adds its period to the node
 * where its stack ends; no text is built until the end, when each distinct stack is folded once.
 * Samples whose stacks differ only in what folding drops (addresses, `+0x` offsets) share their
 * nodes, so memory grows with the distinct folded stacks, not with the input.
 *
 * Each node also remembers the frame lines the last two steps from it took (its hints): the next
 * sample of a thread mostly repeats the root-most lines of a recent one, and a line equal to a
 * hint, or the same frame at another address or offset, is a step down without looking the
 * line up.
 */
import { detached } from "./cache.ts";
import { stripOffset } from "./perf_symbols.ts";

/** One distinct frame: what folding it needs, and its folded forms once asked for. */
export interface Frame {
  /** The address, where the folded form depends on it (`--addrs`, `--inline`); else "". */
  readonly pc: string;
  /** perf's symbol with its `+0x` offset (the first one seen, unless the offset matters). */
  readonly rawSym: string;
  /** The symbol without its offset. */
  readonly sym: string;
  /** The module (DSO) perf printed; `inlined` for perf's inlined frames. */
  readonly module: string;
  /** The source line perf printed after the frame (`--srcline`), cleaned. */
  readonly srcline?: string;
  /**
   * Whether the frame is tidied as a Java process's, where that is not what its stack's root
   * says: Perl tidies each frame for the process name it was read under, and a header with no
   * blank line before it changes the name in the middle of a stack. Undefined: as the root says.
   */
  readonly java?: boolean;
  /** The folded form under a process whose name does not / does start with `java`. */
  folded: string | null | undefined;
  foldedJava: string | null | undefined;
}

/** A frame line as the hints keep it. */
export interface LineText {
  /** The whole line. */
  readonly text: string;
  /** The line after its address, where that alone decides the frame; else undefined. */
  readonly tail: string | undefined;
  /**
   * With `tail`, when the symbol has a `+0x` offset: the tail up to the offset, and from the
   * module's ` (` on. A line that differs only in the offset's digits is the same frame.
   */
  readonly stem?: string;
  readonly end?: string;
}

const NO_LINE: LineText = { text: "", tail: undefined };

/** True when `text[from, to)` is a `+0x` offset (lowercase hex, as stripOffset takes it). */
function isOffset(text: string, from: number, to: number): boolean {
  if (to - from < 4 || text.charCodeAt(from) !== 43 /* + */) return false;
  if (text.charCodeAt(from + 1) !== 48 /* 0 */ || text.charCodeAt(from + 2) !== 120 /* x */) {
    return false;
  }
  for (let i = from + 3; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/**
 * True when the line whose text after the address is `tail` (`text[at, q)`) is the frame of
 * `line`: the same text after the address, or the same but for the offset's digits.
 */
function sameFrame(text: string, at: number, q: number, tail: string, line: LineText): boolean {
  if (line.tail === undefined) return false;
  if (tail === line.tail) return true;
  const { stem, end } = line;
  if (stem === undefined || end === undefined) return false;
  const plus = at + stem.length;
  const mid = q - end.length;
  // The cheap tests first: most lines that reach here are another frame.
  return isOffset(text, plus, mid) && text.slice(mid, q) === end && text.slice(at, plus) === stem;
}

/** Makes a {@link Frame} whose folded forms are not worked out yet. */
export function newFrame(
  pc: string,
  rawSym: string,
  sym: string,
  module: string,
  srcline?: string,
  java?: boolean,
): Frame {
  return { pc, rawSym, sym, module, srcline, java, folded: undefined, foldedJava: undefined };
}

/**
 * The distinct frames of a collapse, by what folding them depends on: frames that fold alike
 * are one object, so that a stack is a path of objects and each frame is folded once.
 */
export class FrameTable {
  readonly #frames = new Map<string, Frame>();

  /**
   * `needsAddress(sym, module)`: the folded form of a frame depends on its address (`--addrs`
   * shows it for unknown symbols, `--inline` looks it up), so frames at other addresses differ.
   */
  constructor(private readonly needsAddress: (sym: string, module: string) => boolean) {}

  /**
   * The distinct frame of a parsed frame line: the offset is dropped, and the address too unless
   * it matters. The strings may be kept: they must not be slices of a chunk of input (see
   * detached).
   */
  frameOf(pc: string, rawSym: string, module: string, srcline?: string, java?: boolean): Frame {
    const sym = stripOffset(rawSym);
    const exact = this.needsAddress(sym, module);
    let key = exact ? `${pc}\n${rawSym}\n${module}` : `${sym}\n${module}`;
    if (srcline !== undefined) key += `\n${srcline}`;
    // No symbol or address holds a newline: a leading one keeps these keys apart.
    if (java !== undefined) key = (java ? "\nJ" : "\nN") + key;
    let frame = this.#frames.get(key);
    if (frame === undefined) {
      frame = newFrame(exact ? pc : "", rawSym, sym, module, srcline, java);
      this.#frames.set(key, frame);
    }
    return frame;
  }

  /** The distinct frames made so far. */
  frames(): IterableIterator<Frame> {
    return this.#frames.values();
  }

  /** {@link frameOf} for strings that may be slices of the input: copied when kept. */
  frameOfSlices(
    pc: string,
    rawSym: string,
    module: string,
    srcline?: string,
    java?: boolean,
  ): Frame {
    const s = srcline === undefined ? undefined : detached(srcline);
    return this.frameOf(detached(pc), detached(rawSym), detached(module), s, java);
  }
}

/** A stack (the path to it from its root): the samples that ended here, and its children. */
export class StackNode {
  /** Summed periods of the samples whose stack is exactly this path. */
  period = 0;
  /** How many samples that was. */
  samples = 0;
  /** The first child; most nodes have one. */
  #first: StackNode | undefined;
  /** The other children, by frame. */
  #rest: Map<Frame, StackNode> | undefined;
  // The children the last two steps from here went to, the latest first, and their lines.
  #hint: StackNode | undefined;
  #hintLine = NO_LINE;
  #hint2: StackNode | undefined;
  #hint2Line = NO_LINE;

  constructor(readonly frame: Frame | undefined, readonly parent: StackNode | undefined) {}

  /** The child for `frame`, made if new. */
  child(frame: Frame): StackNode {
    const first = this.#first;
    if (first === undefined) return this.#first = new StackNode(frame, this);
    if (first.frame === frame) return first;
    this.#rest ??= new Map();
    let node = this.#rest.get(frame);
    if (node === undefined) {
      node = new StackNode(frame, this);
      this.#rest.set(frame, node);
    }
    return node;
  }

  /**
   * The child the line `text[p, q)` leads to when it is the line of a hint, else undefined.
   * (Comparing a slice is several times faster than `startsWith(line, p)` in V8.)
   */
  hinted(text: string, p: number, q: number): StackNode | undefined {
    const n = q - p;
    const first = this.#hintLine.text;
    const second = this.#hint2Line.text;
    if (first.length !== n && second.length !== n) return undefined;
    const line = text.slice(p, q);
    if (line === first) return this.#hint;
    if (line === second) return this.#swapHints();
    return undefined;
  }

  /**
   * The child a line whose text after the address is `tail` (`text[at, q)`) leads to when it is
   * the frame of a hint (at another address, or another offset), else undefined.
   */
  hintedFrame(text: string, at: number, q: number, tail: string): StackNode | undefined {
    if (sameFrame(text, at, q, tail, this.#hintLine)) return this.#hint;
    if (sameFrame(text, at, q, tail, this.#hint2Line)) return this.#swapHints();
    return undefined;
  }

  /** The child for `frame`, reached by `line`: it becomes the latest hint. */
  step(frame: Frame, line: LineText): StackNode {
    const node = this.child(frame);
    if (node !== this.#hint) {
      this.#hint2 = this.#hint;
      this.#hint2Line = this.#hintLine;
      this.#hint = node;
    }
    this.#hintLine = line;
    return node;
  }

  #swapHints(): StackNode | undefined {
    const node = this.#hint2;
    const line = this.#hint2Line;
    this.#hint2 = this.#hint;
    this.#hint2Line = this.#hintLine;
    this.#hint = node;
    this.#hintLine = line;
    return node;
  }

  /** The children, in no particular order. */
  children(): StackNode[] {
    if (this.#first === undefined) return [];
    return this.#rest === undefined ? [this.#first] : [this.#first, ...this.#rest.values()];
  }

  /** The frames from this node to the root: leaf first, as perf prints them. */
  frames(): Frame[] {
    const out: Frame[] = [];
    if (this.frame === undefined) return out;
    out.push(this.frame);
    for (let n = this.parent; n?.frame !== undefined; n = n.parent) out.push(n.frame);
    return out;
  }
}

/** The distinct stacks of the samples read so far, under their root frames. */
export class StackTree {
  readonly #roots = new Map<string, StackNode>();

  /**
   * The node of the root frame `name`. `own` makes a name seen for the first time into one fit
   * to keep (it may be a slice of a large text).
   */
  root(name: string, own: (name: string) => string): StackNode {
    let node = this.#roots.get(name);
    if (node === undefined) {
      node = new StackNode(undefined, undefined);
      this.#roots.set(own(name), node);
    }
    return node;
  }

  /**
   * Calls `visit` for each stack that samples ended at, with its folded text: the root, then
   * each frame's `fold` (null leaves the frame out), joined by `;`.
   */
  fold(
    fold: (frame: Frame, root: string) => string | null,
    visit: (stack: string, node: StackNode, root: string) => void,
  ): void {
    for (const [root, top] of this.#roots) {
      const nodes = [top];
      const texts = [root];
      while (nodes.length !== 0) {
        const node = nodes.pop()!;
        const text = texts.pop()!;
        if (node.samples !== 0) visit(text, node, root);
        for (const child of node.children()) {
          const folded = fold(child.frame!, root);
          nodes.push(child);
          texts.push(folded === null ? text : `${text};${folded}`);
        }
      }
    }
  }

  /** The root frames (process names) and their nodes. */
  roots(): IterableIterator<[string, StackNode]> {
    return this.#roots.entries();
  }

  /** Calls `visit` for each stack that samples ended at, with its root. */
  forEach(visit: (root: string, node: StackNode) => void): void {
    for (const [root, top] of this.#roots) {
      const nodes = [top];
      while (nodes.length !== 0) {
        const node = nodes.pop()!;
        if (node.samples !== 0) visit(root, node);
        nodes.push(...node.children());
      }
    }
  }
}
