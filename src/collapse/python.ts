/**
 * Python frames made readable: a frame transform for the perf collapser (PerfOptions.transform)
 * that turns CPython's perf-trampoline frames (`py::func:/path/file.py`) into `func (file.py)`
 * and drops the interpreter's glue between them, so one stack reads from `<module>` down to the
 * C extension and the syscall (the "collapse interpreter frames" rule of capture.md §2e).
 *
 * Frames are leaf first, as the collapser hands them over; nothing here knows about perf text.
 * Which frames are Python's, the interpreter's or start-up code is decided in frames.ts.
 */
import {
  isPythonInterpreter,
  isPythonSymbol,
  isStartupSymbol,
  parsePythonSymbol,
} from "./frames.ts";
import { pythonFrameLabel } from "../python/names.ts";
import { memoize } from "./cache.ts";

/**
 * The part of a perf frame the transforms read and write: symbol (offset stripped), module
 * (DSO), and the final name a transform gives it (`display`, not tidied by the collapser).
 */
export interface FrameLike {
  sym: string;
  module: string;
  display?: string;
}

/**
 * Interpreter functions that only carry a call from one Python frame to the next (the eval
 * loop, vectorcall, the perf trampoline, refcounting and frame bookkeeping). Measured: between
 * two Python frames the gap is almost always exactly these.
 */
const GLUE = new RegExp(
  "^(?:_PyEval_EvalFrameDefault|_PyEval_EvalFrame|_PyEval_Vector|PyEval_EvalCode\\w*" +
    "|py_trampoline_evaluator|_?PyObject_Vectorcall\\w*|_PyFunction_Vectorcall|_?PyVectorcall_\\w+" +
    "|_?PyObject_Call\\w*|_PyObject_FastCall\\w*|_PyObject_MakeTpCall|method_vectorcall\\w*" +
    "|cfunction_\\w+|vectorcall_\\w+|object_vacall|slot_tp_\\w+|_?Py_X?(?:INC|DEC)REF\\w*" +
    "|_Py_IsImmortal|_PyFrame_\\w+|_PyEvalFramePushAndInit\\w*|initialize_locals" +
    "|clear_thread_frame|_PyEval_FrameClearAndPop|_PyThreadState_PopFrame|_PyLong_CompactValue)" +
    "(?:\\.cold|\\.isra\\.\\d+|\\.part\\.\\d+|\\.constprop\\.\\d+)*$",
);

/** True for an interpreter function that only passes control between Python frames. */
export const isGlueSymbol: (sym: string) => boolean = memoize((s) => GLUE.test(s));

/**
 * `py::QUALNAME:FILE` → `QUALNAME (file.py)`, named as the interpreter reader names frames
 * (python/names.ts): the standard library's and installed packages' files by their path below
 * the import root (`multiprocessing/pool.py`), others by base name, pseudo-files as they are.
 */
export const pythonFrameName: (sym: string) => string = memoize((sym) => {
  const py = parsePythonSymbol(sym);
  return py === undefined ? sym : pythonFrameLabel(py.func, py.file);
});

/**
 * Collapses one stack (leaf first). Without Python frames it is returned unchanged. Otherwise,
 * with `inner`/`outer` the leaf-most/root-most Python frames:
 * 1. leafward of `inner`, only the run of interpreter glue right above it is dropped, so C
 *    extensions, libc, the GC and kernel frames stay;
 * 2. between Python frames every interpreter frame is dropped (C extensions that call back into
 *    Python stay);
 * 3. rootward of `outer`, interpreter and libc start-up frames are dropped (an embedding
 *    application's frames stay).
 * Python frames get the final name `func (file.py)` (`display`: its parentheses are no
 * argument list).
 */
export function collapsePythonFrames<F extends FrameLike>(frames: F[]): F[] {
  let inner = -1;
  let outer = -1;
  for (let i = 0; i < frames.length; i++) {
    if (isPythonSymbol(frames[i].sym)) {
      if (inner === -1) inner = i;
      outer = i;
    }
  }
  if (inner === -1) return frames;

  const out: F[] = [];
  // 1. The native callees and kernel frames of the innermost Python function.
  let j = inner;
  while (j > 0) {
    const f = frames[j - 1];
    // Kernel frames end the run too: no kernel module is an interpreter module.
    if (!isPythonInterpreter(f.module) || !isGlueSymbol(f.sym)) break;
    j--;
  }
  for (let i = 0; i < j; i++) out.push(frames[i]);
  // 2. Python frames, and whatever non-interpreter code sits between two of them.
  for (let i = inner; i <= outer; i++) {
    const f = frames[i];
    if (isPythonSymbol(f.sym)) out.push({ ...f, display: pythonFrameName(f.sym) });
    else if (!isPythonInterpreter(f.module)) out.push(f);
  }
  // 3. Below the outermost Python frame: keep an embedding program, not the interpreter.
  for (let i = outer + 1; i < frames.length; i++) {
    const f = frames[i];
    if (!isPythonInterpreter(f.module) && !isStartupSymbol(f.sym)) out.push(f);
  }
  return out;
}
