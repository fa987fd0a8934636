/**
 * What the splice tests (and bench/splice.ts) measure in a folded profile of
 * fixtures/capture/mixed.py: how many of the samples in which Python ran hold the whole Python
 * chain from its root (`<module>`, or the import machinery while the interpreter starts): no
 * interpreter evaluation frame is left where Python frames belong (start-up before the reader
 * found the interpreter aside); how many show
 * the native code a Python function called (zlib's compressor under `compress`) and kernel
 * frames (under `read_back`'s file reads).
 */

/** One folded line: the stack's frames and its count. */
type Line = [string[], number];

/** Parses folded text. */
export function foldedLines(text: string): Line[] {
  return text.trim().split("\n").filter((l) => l !== "").map((l) => {
    const i = l.lastIndexOf(" ");
    return [l.slice(0, i).split(";"), Number(l.slice(i + 1))];
  });
}

const EVAL = /^(?:_PyEval_EvalFrameDefault|PyEval_EvalFrameEx)/;
/** The interpreter setting itself up, before it runs the program. */
const STARTUP = /^(?:pymain_init|Py_InitializeFromConfig|Py_Initialize(?:Ex)?)$/;
const PY_FRAME = / \((?:[^()]*\.py(?::\d+)?|<frozen [^()]*>)\)$/;

/** The shares of a mixed.py profile, as fractions of the samples in which Python ran. */
export interface SpliceShares {
  /** Samples in which Python ran (a Python frame, or an interpreter evaluation call). */
  python: number;
  /** ... whose stack reads Python frames from its root on, with no evaluation call left. */
  whole: number;
  /** Samples under `compress (mixed.py)` with a native frame above it (zlib's). */
  compressNative: number;
  compress: number;
  /** Samples under `read_back (mixed.py)` with a kernel frame in them. */
  readKernel: number;
  readBack: number;
  /** Samples in `work` with zlib's or the read system call's frames... */
  placed: number;
  /** ... whose innermost Python frame is not the function that makes that call. */
  misplaced: number;
}

/** Native frames and the one Python function of mixed.py that calls them. */
const CALLERS: [RegExp, string][] = [
  [/^(?:zlib_compress|deflate)/, "compress (mixed.py)"],
  [/^(?:ksys_read|vfs_read|__x64_sys_read)$/, "read_back (mixed.py)"],
];

/** Measures a folded profile of mixed.py (root frames `comm`, optionally `comm-PID/TID`). */
export function spliceShares(text: string): SpliceShares {
  const s: SpliceShares = {
    python: 0,
    whole: 0,
    compressNative: 0,
    compress: 0,
    readKernel: 0,
    readBack: 0,
    placed: 0,
    misplaced: 0,
  };
  for (const [frames, n] of foldedLines(text)) {
    const evals = frames.some((f) => EVAL.test(f));
    const py = frames.some((f) => PY_FRAME.test(f));
    if (!evals && !py) continue;
    // The interpreter's own start-up (its frozen imports) runs before a reader started at exec
    // has found it (a few ms; the reader parses libpython's symbols first): perf's stack is all there is.
    if (evals && frames.some((f) => STARTUP.test(f))) continue;
    s.python += n;
    if (!evals && PY_FRAME.test(frames[1] ?? "")) s.whole += n;
    const c = frames.indexOf("compress (mixed.py)");
    if (c !== -1) {
      s.compress += n;
      if (c + 1 < frames.length && !PY_FRAME.test(frames[c + 1])) s.compressNative += n;
    }
    // (In the main loop: reading files is also what the interpreter does while it starts.)
    for (const [native, caller] of frames.includes("work (mixed.py)") ? CALLERS : []) {
      const at = frames.findIndex((f) => native.test(f));
      if (at === -1) continue;
      s.placed += n;
      const python = frames.slice(0, at).filter((f) => PY_FRAME.test(f));
      if (python.at(-1) !== caller) s.misplaced += n;
      break;
    }
    const r = frames.indexOf("read_back (mixed.py)");
    if (r !== -1) {
      s.readBack += n;
      if (
        frames.slice(r + 1).some((f) =>
          /^(?:do_syscall_64|entry_SYSCALL|__x64_sys_|ksys_read|vfs_read)/.test(f)
        )
      ) {
        s.readKernel += n;
      }
    }
  }
  return s;
}
