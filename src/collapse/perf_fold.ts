/**
 * Folding the stacks perf's samples made (perf_stacks.ts) into folded stacks: each distinct
 * frame is folded once (tidied as stackcollapse-perf.pl does, expanded by addr2line with
 * `--inline`, given its source line with `--srcline`, marked `_[k]`/`_[j]` when asked), and each
 * distinct stack is joined once. Frame hooks (a transform that renames or drops frames, a
 * watcher that sees each raw stack) run once per distinct stack; a transform given as a rewriter
 * runs once per frame of the tree, from the root, so that stacks share their common part.
 *
 * Each folded frame name can also be described (its kind, file and line, or module: see
 * frames.ts), once, when asked: the result becomes a profile without the names being parsed.
 */
import type { FrameInfo } from "../profile/profile.ts";
import type { FoldedStacks } from "../folded/stacks.ts";
import { addStack } from "../folded/stacks.ts";
import { describeFrame } from "./frames.ts";
import type { InlineResolver } from "./perf_inline.ts";
import { finalName, splitInlineChain, tidyFunction, type TidyOptions } from "./perf_symbols.ts";
import {
  type Frame,
  type FrameTable,
  newFrame,
  type StackNode,
  type StackTree,
} from "./perf_stacks.ts";

/** One frame handed to the {@link FoldOptions.transform} and {@link FoldOptions.onStack} hooks. */
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

/** How stacks are folded: the marks to add, and the hooks. */
export interface FoldOptions extends TidyOptions {
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
  /**
   * The transform, frame by frame from the root (folds every stack exactly as `transform`
   * does, faster: stacks share the work on their common root-most frames). Used when set,
   * unless `onStack` makes every stack go through the hooks anyway.
   */
  rewriter?: StackRewriter;
  /**
   * Rewrites the frames (leaf first) of a stack's samples that ReadOptions.sampleVariant gave
   * the variant `key`, as `transform` does; `onStack` sees them too. Once per stack and key.
   */
  variant?: (frames: RawFrame[], key: number) => RawFrame[];
}

/** A frame as a {@link StackRewriter} sees it: valid only during the call it is given to. */
export interface RewriteFrame {
  /** The symbol as perf printed it without its offset (as RawFrame's). */
  readonly sym: string;
  /** The module; an inlined frame's is its caller's (as RawFrame's). */
  readonly module: string;
  /** The frame folded as it is; null when it gives no frame. */
  readonly folded: string | null;
  /** The frame folded under the final name `display` (as RawFrame's `display`). */
  named(display: string): string;
  /** The frames before this one, root first (a rewriter needs them where it starts). */
  path(): RewriteFrame[];
}

/**
 * A frame transform that works frame by frame from the root. A stack's state starts undefined
 * (nothing to rewrite: the stack folds as it is) and each frame, root first, steps it.
 */
export interface StackRewriter<S = unknown> {
  /** The state after `frame`, from the state before it. */
  step(state: S | undefined, frame: RewriteFrame): S | undefined;
  /** The folded frames of a stack in `state` (not undefined); `plain`: as they fold unchanged. */
  text(state: S, plain: string | null): string | null;
  /**
   * False for a frame (symbol and module, as a RewriteFrame's) that no stack changes for:
   * when a collapse has no other frame, the rewriter is not run.
   */
  changes?(sym: string, module: string): boolean;
}

/** A frame for a rewriter: the folder reuses one for each step, and makes new ones for paths. */
class StepFrame implements RewriteFrame {
  sym = "";
  module = "";
  folded: string | null = null;
  java = false;
  /** The frame's node in the tree and its root, for `path`. */
  node: StackNode | undefined;
  root = "";

  constructor(private readonly folder: StackFolder) {}

  /** Makes this the frame `sym` in `module`, folded as `folded`. */
  set(sym: string, module: string, folded: string | null, java: boolean): this {
    this.sym = sym;
    this.module = module;
    this.folded = folded;
    this.java = java;
    return this;
  }

  named(display: string): string {
    return this.folder.named(display, this.sym, this.module, this.java);
  }

  path(): RewriteFrame[] {
    const parent = this.node?.parent;
    return parent === undefined ? [] : this.folder.path(parent, this.root);
  }
}

/**
 * A frame handed to the hooks: a RawFrame that also knows, privately, where in the stack it was
 * given (the stack's frame and what it was given are kept beside the stack). Objects the
 * transform makes (spread copies too) carry no such place: they are new frames.
 */
class HookFrame implements RawFrame {
  sym: string;
  module: string;
  // Declared only: a transform that copies the frame gets exactly its symbol and module.
  declare display?: string;
  readonly #at: number;

  constructor(sym: string, module: string, at: number) {
    this.sym = sym;
    this.module = module;
    this.#at = at;
  }

  /** Where in its stack `f` was given, or -1 for a frame the transform made. */
  static at(f: RawFrame): number {
    return #at in f ? (f as HookFrame).#at : -1;
  }
}

/** True for a root frame (process name) whose frames are tidied as Java's. */
function isJava(root: string): boolean {
  return root.startsWith("java");
}

/** Whether `frame` is tidied as Java's, in a stack under `root`. */
function javaFor(frame: Frame, root: string): boolean {
  return frame.java ?? isJava(root);
}

/** A stack on its way through the hooks: its frames, leaf first, and what the hooks see. */
interface HookedStack {
  frames: readonly Frame[];
  /** The module each frame was given with: an inlined frame gets the module of its caller. */
  modules: string[];
  raw: HookFrame[];
}

/** The frames the hooks see of a stack (`frames`, leaf first). */
function hookStack(frames: readonly Frame[]): HookedStack {
  const n = frames.length;
  const modules: string[] = new Array(n);
  const raw: HookFrame[] = new Array(n);
  let outer = "inlined";
  for (let i = n - 1; i >= 0; i--) {
    const frame = frames[i];
    let module = frame.module;
    if (module !== "inlined") outer = module;
    else module = outer;
    modules[i] = module;
    raw[i] = new HookFrame(frame.sym, module, i);
  }
  return { frames, modules, raw };
}

/** The raw frames (leaf first) of the stack that ends at `node`, as the hooks would see them. */
export function rawFramesOf(node: StackNode): RawFrame[] {
  return hookStack(node.frames()).raw;
}

/** True when `rewriter` may change a stack made of the frames of `table`. */
function rewrites(rewriter: StackRewriter, table: FrameTable): boolean {
  const changes = rewriter.changes;
  if (changes === undefined) return true;
  for (const frame of table.frames()) {
    if (changes.call(rewriter, frame.sym, frame.module)) return true;
  }
  return false;
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

/** `file.c:12` (a `--srcline` or `--context` location) → its file and line, if it has both. */
function sourceLocation(where: string): { file: string; line: number } | undefined {
  const colon = where.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const line = Number(where.slice(colon + 1));
  const file = where.slice(0, colon);
  if (!Number.isInteger(line) || line <= 0 || file === "??") return undefined;
  return { file, line };
}

/** What the root frame of a stack (its process name) is. */
const ROOT: FrameInfo = Object.freeze({ kind: "root" });

/** The `:file:line` that `--context` appends to a frame addr2line gave. */
const CONTEXT = /:([^:]+):(\d+)$/;

/** Folds the stacks of a perf collapse; see the module comment. */
export class StackFolder {
  /** What is known of each folded frame name (the first frame that gave the name). */
  readonly frames = new Map<string, FrameInfo>();
  readonly #o: FoldOptions;
  readonly #inline: InlineResolver | undefined;

  /** `inline`: expands frames with addr2line (`--inline`), when given. */
  constructor(options: FoldOptions, inline?: InlineResolver) {
    this.#o = options;
    this.#inline = inline;
  }

  /**
   * Adds the stacks that samples ended at in `tree` to `stacks`, each distinct stack once.
   * `table` holds the tree's distinct frames.
   */
  foldTree(tree: StackTree, stacks: FoldedStacks, table: FrameTable): void {
    const { transform, onStack, rewriter } = this.#o;
    if (rewriter !== undefined && onStack === undefined) {
      // When no frame of the collapse is one the rewriter changes, every stack folds as it is.
      if (rewrites(rewriter, table)) return this.#foldRewritten(tree, stacks, rewriter);
    } else if (transform !== undefined || onStack !== undefined) {
      // Every stack goes through the hooks.
      return tree.forEach((root, node: StackNode) => this.#foldNode(stacks, root, node));
    }
    // Each stack is folded from its parent's text, one frame more.
    tree.fold(
      (frame, root) => this.folded(frame, javaFor(frame, root)),
      (stack, node) => addStack(stacks, stack, node.period),
    );
  }

  /**
   * Folds the stacks of `tree` with a rewriter, walking each path from its root once. Beside
   * each node waiting to be walked: its stack folded as it is (after the root), the module of
   * its last frame that is not inlined, and the rewriter's state.
   */
  #foldRewritten(tree: StackTree, stacks: FoldedStacks, rewriter: StackRewriter): void {
    const step = new StepFrame(this);
    for (const [root, top] of tree.roots()) {
      step.root = root;
      const nodes = [top];
      const plains: (string | null)[] = [null];
      const outers = ["inlined"];
      const states: unknown[] = [undefined];
      while (nodes.length !== 0) {
        const node = nodes.pop()!;
        const plain = plains.pop()!;
        const outer = outers.pop()!;
        const state = states.pop();
        if (node.samples !== 0) {
          const text = state === undefined ? plain : rewriter.text(state, plain);
          addStack(stacks, text === null ? root : `${root};${text}`, node.period);
        }
        for (const child of node.children()) {
          const frame = child.frame!;
          const java = javaFor(frame, root);
          const folded = this.folded(frame, java);
          const module = frame.module === "inlined" ? outer : frame.module;
          step.node = child;
          nodes.push(child);
          plains.push(folded === null ? plain : plain === null ? folded : `${plain};${folded}`);
          outers.push(module);
          states.push(rewriter.step(state, step.set(frame.sym, module, folded, java)));
        }
      }
    }
  }

  /**
   * Adds the samples that were given variants (see FoldOptions.variant) to `stacks`: each
   * stack and variant is folded once through the variant transform.
   */
  foldVariants(
    tree: StackTree,
    variants: ReadonlyMap<StackNode, ReadonlyMap<number, { period: number; samples: number }>>,
    stacks: FoldedStacks,
  ): void {
    if (variants.size === 0) return;
    const roots = new Map<StackNode, string>();
    for (const [root, top] of tree.roots()) roots.set(top, root);
    const variant = this.#o.variant ?? ((frames: RawFrame[]) => frames);
    for (const [node, byKey] of variants) {
      let top = node;
      while (top.parent !== undefined) top = top.parent;
      const root = roots.get(top)!;
      const frames = node.frames();
      for (const [key, count] of byKey) {
        const stack = hookStack(frames);
        this.#o.onStack?.(stack.raw, count.samples);
        const java = frames.length !== 0 && javaFor(frames[0], root);
        const suffix = joinFolded(
          variant(stack.raw, key).map((f) => this.#foldReturned(f, stack, root, java)),
        );
        addStack(stacks, suffix === null ? root : `${root};${suffix}`, count.period);
      }
    }
  }

  /** The frames from the root to `node` (included), root first, as a rewriter sees them. */
  path(node: StackNode, root: string): RewriteFrame[] {
    const frames: Frame[] = [];
    for (let n: StackNode | undefined = node; n?.frame !== undefined; n = n.parent) {
      frames.push(n.frame);
    }
    const out: RewriteFrame[] = [];
    let outer = "inlined";
    for (let i = frames.length - 1; i >= 0; i--) {
      const frame = frames[i];
      if (frame.module !== "inlined") outer = frame.module;
      const java = javaFor(frame, root);
      out.push(new StepFrame(this).set(frame.sym, outer, this.folded(frame, java), java));
    }
    return out;
  }

  /** A final name folded (and described) for the frame `sym` in `module`. */
  named(display: string, sym: string, module: string, java: boolean): string {
    const folded = finalName(display, module, this.#o);
    if (!this.frames.has(folded)) this.#describe(folded, this.#info(sym, module, java, undefined));
    return folded;
  }

  /** Folds the stack that ends at `node` under `root` through the hooks. */
  #foldNode(stacks: FoldedStacks, root: string, node: StackNode): void {
    const suffix = this.#foldHooked(node.frames(), root, node.samples);
    addStack(stacks, suffix === null ? root : `${root};${suffix}`, node.period);
  }

  /**
   * What each folded name is: worked out when asked for (not every caller wants it), from the
   * roots of `tree` and the distinct frames of `table` as they were folded. Names the hooks gave
   * were described as they were folded.
   */
  describe(tree: StackTree, table: FrameTable): Map<string, FrameInfo> {
    for (const [root] of tree.roots()) this.#describe(root, ROOT);
    for (const frame of table.frames()) {
      if (frame.folded !== undefined && frame.folded !== null) this.#foldFrame(frame, false, true);
      if (frame.foldedJava !== undefined && frame.foldedJava !== null) {
        this.#foldFrame(frame, true, true);
      }
    }
    return this.frames;
  }

  /** A distinct frame's folded form (worked out once for each kind of process). */
  folded(frame: Frame, java: boolean): string | null {
    if (java) {
      if (frame.foldedJava === undefined) frame.foldedJava = this.#foldFrame(frame, true);
      return frame.foldedJava;
    }
    if (frame.folded === undefined) frame.folded = this.#foldFrame(frame, false);
    return frame.folded;
  }

  /**
   * Folds one frame into its frames (several for a `->` chain or --inline), root first and
   * joined by `;`, or null when it gives none.
   */
  #foldFrame(frame: Frame, java: boolean, describe = false): string | null {
    const { pc, sym, module, srcline } = frame;
    if (this.#inline !== undefined && pc !== "" && this.#inline.applies(module)) {
      const inlined = this.#inline.resolve(pc, frame.rawSym, module);
      if (inlined !== "" && inlined !== "??" && inlined !== "??:??:0") {
        if (describe) {
          for (const name of inlined.split(";")) {
            this.#describe(name, this.#inlinedInfo(name, module));
          }
        }
        return inlined;
      }
    }
    // Perl skips symbols in parentheses (process names), but that also dropped every C++
    // function in an anonymous namespace: those are kept.
    if (sym.charCodeAt(0) === 40 /* ( */ && !sym.startsWith("(anonymous namespace)")) return null;
    const pieces = splitInlineChain(sym);
    if (pieces.length === 0) return null;
    let out = "";
    for (let i = 0; i < pieces.length; i++) {
      let func = tidyFunction(pieces[i], pc, module, i > 0, java, this.#o);
      const last = i === pieces.length - 1;
      if (srcline && last) func += `:${srcline}`;
      if (describe) {
        this.#describe(func, this.#info(pieces[i], module, java, last ? srcline : undefined));
      }
      out = i === 0 ? func : `${out};${func}`;
    }
    return out;
  }

  /** What a piece of a frame is: from its symbol and module, and its source line if known. */
  #info(sym: string, module: string, java: boolean, srcline: string | undefined): FrameInfo {
    const info = describeFrame(sym, module, { java });
    const at = srcline === undefined ? undefined : sourceLocation(srcline);
    return at === undefined ? info : { ...info, ...at };
  }

  /** What a frame addr2line gave is (`func`, or `func:file:line` with --context). */
  #inlinedInfo(name: string, module: string): FrameInfo {
    const info = describeFrame(name, module);
    const m = CONTEXT.exec(name);
    return m === null || m[1] === "??" ? info : { ...info, file: m[1], line: Number(m[2]) };
  }

  /** Records what a folded name is, unless a frame named so was described already. */
  #describe(name: string, info: FrameInfo): void {
    if (!this.frames.has(name)) this.frames.set(name, info);
  }

  /**
   * Folds one stack (leaf first) under `root` through the hooks: `onStack` sees its raw frames,
   * then the transform rewrites them and what it returns is folded.
   */
  #foldHooked(frames: readonly Frame[], root: string, samples: number): string | null {
    const stack = hookStack(frames);
    this.#o.onStack?.(stack.raw, samples);
    const transform = this.#o.transform;
    if (transform === undefined) {
      return joinFolded(frames.map((frame) => this.folded(frame, javaFor(frame, root))));
    }
    // Frames the transform makes up are tidied as the leaf is.
    const java = frames.length !== 0 && javaFor(frames[0], root);
    return joinFolded(transform(stack.raw).map((f) => this.#foldReturned(f, stack, root, java)));
  }

  /**
   * Folds a frame the transform returned. One it was given folds as perf printed it (offset,
   * `inlined` module) unless renamed; a new one (or one with a final name) as it says.
   */
  #foldReturned(f: RawFrame, stack: HookedStack, root: string, java: boolean): string | null {
    const at = HookFrame.at(f);
    const origin = at === -1 ? undefined : stack.frames[at];
    const originJava = origin === undefined ? java : javaFor(origin, root);
    const module = origin !== undefined && f.module === stack.modules[at]
      ? origin.module
      : f.module;
    const srcline = origin?.srcline;
    if (f.display !== undefined) {
      const name = finalName(f.display, module, this.#o);
      const folded = srcline ? `${name}:${srcline}` : name;
      if (!this.frames.has(folded)) {
        this.#describe(folded, this.#info(f.sym, f.module, originJava, srcline));
      }
      return folded;
    }
    if (origin !== undefined && f.sym === origin.sym && module === origin.module) {
      return this.folded(origin, originJava);
    }
    // A frame the transform renamed is in no frame table: described now.
    const renamed = newFrame(origin?.pc ?? "", f.sym, f.sym, module, srcline);
    return this.#foldFrame(renamed, originJava, true);
  }
}
