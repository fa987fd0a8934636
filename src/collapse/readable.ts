/**
 * The frame transforms that make runtimes' frames readable, as `flame report` and
 * `flame collapse perf` apply them: CPython's (python.ts: `fib (work.py)`, the interpreter's
 * glue dropped) and V8's (node.ts: `fib (x.js:3)`, tier marks merged). Each comes as a transform
 * of whole stacks (for the hooks that see every stack) and as a rewriter that folds the same,
 * frame by frame from the root (fast: stacks share the work on their common root-most frames).
 */
import { isPythonInterpreter, isPythonSymbol, isStartupSymbol, isV8Symbol } from "./frames.ts";
import type { FoldOptions, RawFrame, RewriteFrame, StackRewriter } from "./perf_fold.ts";
import { collapsePythonFrames, isGlueSymbol, pythonFrameName } from "./python.ts";
import { tidyV8Frames, v8FrameName } from "./node.ts";

/** Which runtimes' frames are made readable. */
export interface Readable {
  python: boolean;
  /** JavaScript frames V8 named. */
  js: boolean;
}

/** Python's and V8's frames made readable (what `flame report` shows). */
export function readableFrames(frames: RawFrame[]): RawFrame[] {
  return collapsePythonFrames(tidyV8Frames(frames));
}

/** Folded frames joined by `;` (null: none). */
function cat(a: string | null, b: string | null): string | null {
  return a === null ? b : b === null ? a : `${a};${b}`;
}

/**
 * A stack being rewritten, root first, from its first frame the rewriting changes. The rules
 * are collapsePythonFrames' (python.ts), read from the root: before the first Python frame,
 * interpreter and start-up frames go (rule 3); between two Python frames, interpreter frames go
 * (rule 2); after the last one, only the run of interpreter glue right after it goes (rule 1).
 * Which of rules 1 and 2 the frames after a Python frame fall under is known only when the
 * stack ends or meets another Python frame: both are kept.
 */
interface Rewritten {
  /** Before any Python frame: the stack with V8's frames named (what it is without one). */
  text: string | null;
  /** Before any Python frame: what rule 3 keeps of it. */
  pre: string | null;
  /** From the first Python frame on: the stack through the last Python frame. */
  mid: string | null;
  /** The frames after the last Python frame as rule 2 keeps them... */
  between: string | null;
  /** ...and as rule 1 keeps them. */
  after: string | null;
  /** Rule 1 has met a frame that is not interpreter glue (it keeps all from there on). */
  afterStarted: boolean;
  /** A Python frame has been met. */
  python: boolean;
}

/** True for a frame rule 3 keeps (before the first Python frame). */
function keptBeforePython(f: RewriteFrame): boolean {
  return !isPythonInterpreter(f.module) && !isStartupSymbol(f.sym);
}

/** The rewriter of {@link readableFrameOptions}: see Rewritten. */
class ReadableRewriter implements StackRewriter<Rewritten> {
  constructor(private readonly which: Readable) {}

  step(state: Rewritten | undefined, f: RewriteFrame): Rewritten | undefined {
    const python = this.which.python && isPythonSymbol(f.sym);
    const js = this.which.js && isV8Symbol(f.sym);
    if (state === undefined) {
      if (!python && !js) return undefined; // nothing changes until such a frame
      state = this.#start(f.path());
    }
    if (python) {
      const name = f.named(pythonFrameName(f.sym));
      const mid = state.python ? cat(cat(state.mid, state.between), name) : cat(state.pre, name);
      return {
        text: null,
        pre: null,
        mid,
        between: null,
        after: null,
        afterStarted: false,
        python,
      };
    }
    const folded = js ? f.named(v8FrameName(f.sym)) : f.folded;
    if (!state.python) {
      return {
        text: cat(state.text, folded),
        pre: keptBeforePython(f) ? cat(state.pre, folded) : state.pre,
        mid: null,
        between: null,
        after: null,
        afterStarted: false,
        python: false,
      };
    }
    const interpreter = isPythonInterpreter(f.module);
    const skip = !state.afterStarted && interpreter && isGlueSymbol(f.sym);
    // The interpreter's glue between Python frames (most frames of a Python stack) changes
    // nothing: the same state goes on.
    if (skip || (interpreter && state.afterStarted && folded === null)) return state;
    return {
      text: null,
      pre: null,
      mid: state.mid,
      between: interpreter ? state.between : cat(state.between, folded),
      after: skip ? state.after : cat(state.after, folded),
      afterStarted: state.afterStarted || !skip,
      python: true,
    };
  }

  /** Only stacks with a Python (or, when asked, V8) frame are rewritten. */
  changes(sym: string): boolean {
    return (this.which.python && isPythonSymbol(sym)) || (this.which.js && isV8Symbol(sym));
  }

  text(state: Rewritten): string | null {
    return state.python ? cat(state.mid, state.after) : state.text;
  }

  /** The state of the frames before the first one that changes (none of them changes). */
  #start(path: RewriteFrame[]): Rewritten {
    let text: string | null = null;
    let pre: string | null = null;
    for (const f of path) {
      text = cat(text, f.folded);
      if (keptBeforePython(f)) pre = cat(pre, f.folded);
    }
    return { text, pre, mid: null, between: null, after: null, afterStarted: false, python: false };
  }
}

/** The perf collapser options that make the frames of `which` runtimes readable. */
export function readableFrameOptions(
  which: Readable,
): Pick<FoldOptions, "transform" | "rewriter"> {
  const rewriter = new ReadableRewriter(which);
  if (which.python && which.js) return { transform: readableFrames, rewriter };
  if (which.python) return { transform: collapsePythonFrames, rewriter };
  if (which.js) return { transform: tidyV8Frames, rewriter };
  return {};
}
