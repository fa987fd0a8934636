/**
 * The frame transforms that make runtimes' frames readable, as `flame report` and
 * `flame collapse perf` apply them: CPython's (python.ts: `fib (work.py)`, the interpreter's
 * glue dropped) and V8's (node.ts: `fib (x.js:3)`, tier marks merged). Each comes with the test
 * for the frames it may change, so that stacks without any are folded without it.
 */
import { isPythonSymbol, isV8Symbol } from "./frames.ts";
import type { FoldOptions, RawFrame } from "./perf_fold.ts";
import { collapsePythonFrames } from "./python.ts";
import { tidyV8Frames } from "./node.ts";

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

function isRuntimeFrame(sym: string): boolean {
  return isPythonSymbol(sym) || isV8Symbol(sym);
}

/** The perf collapser options that make the frames of `which` runtimes readable. */
export function readableFrameOptions(
  which: Readable,
): Pick<FoldOptions, "transform" | "transformTouches"> {
  if (which.python && which.js) {
    return { transform: readableFrames, transformTouches: isRuntimeFrame };
  }
  if (which.python) return { transform: collapsePythonFrames, transformTouches: isPythonSymbol };
  if (which.js) return { transform: tidyV8Frames, transformTouches: isV8Symbol };
  return {};
}
