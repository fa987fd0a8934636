/**
 * Where perf and the Python reader meet: each perf sample's native stack (C extensions, libc,
 * the kernel) gets the Python frames the interpreter was running, read from the process's memory
 * at nearly the same moment on the same clock (CLOCK_MONOTONIC). One stack then runs from
 * `<module>` down to the system call, for every CPython version, however the program ends.
 *
 * The interpreter's C stack shows one evaluation call (`_PyEval_EvalFrameDefault`, 2.7's
 * `PyEval_EvalFrameEx`) per C-level entry into Python: up to 3.10 one per Python frame, from
 * 3.11 one per run of Python frames that began with an entry frame (the reader marks them). A
 * perf sample is spliced only when its evaluation calls and the reader's groups of frames agree
 * in number; otherwise it keeps its native stack and is counted.
 */
import { isGlueSymbol, isInterpreterModule } from "../collapse/python.ts";

/** A native frame as perf printed it (symbol without offset, module). */
export interface NativeFrame {
  sym: string;
  module: string;
  /** The final name to show, set for the Python frames spliced in. */
  display?: string;
}

/** A Python frame as the reader gives it. */
export interface PythonFrameLike {
  /** The name to show (`func (file.py)`). */
  label: string;
  /** This frame starts a C-level evaluation call. */
  entry: boolean;
}

/** Interpreter functions that run Python frames: one call per C-level evaluation. */
const EVAL_3 = /^_PyEval_EvalFrameDefault(?:\.cold|\.isra\.\d+|\.part\.\d+|\.constprop\.\d+)*$/;
/** Python 2.7's: `PyEval_EvalFrameEx`, which 3.x keeps only as a thin wrapper. */
const EVAL_2 = /^PyEval_EvalFrameEx(?:\.cold|\.isra\.\d+|\.part\.\d+|\.constprop\.\d+)*$/;

/** libc's process and thread start-up frames, below the interpreter. */
const LIBC_ROOT =
  /^(?:_start|__libc_start_main\S*|__libc_start_call_main|start_thread|clone3?|__clone\S*)$/;

/**
 * The indexes (leaf first) of the evaluation calls in a native stack (leaf first): frames of
 * the interpreter's module named `_PyEval_EvalFrameDefault`, or, when there is none (2.7),
 * `PyEval_EvalFrameEx`.
 */
export function evaluationCalls(native: readonly NativeFrame[]): number[] {
  const found3: number[] = [];
  const found2: number[] = [];
  for (let i = 0; i < native.length; i++) {
    const f = native[i];
    if (!isInterpreterModule(f.module)) continue;
    if (EVAL_3.test(f.sym)) found3.push(i);
    else if (EVAL_2.test(f.sym)) found2.push(i);
  }
  return found3.length > 0 ? found3 : found2;
}

/**
 * Groups a Python stack (outermost first) by evaluation call: a group starts at each entry
 * frame (and at the outermost frame, which C entered whatever its mark says).
 */
export function evaluationGroups<F extends PythonFrameLike>(python: readonly F[]): F[][] {
  const groups: F[][] = [];
  for (let i = 0; i < python.length; i++) {
    if (i === 0 || python[i].entry) groups.push([]);
    groups[groups.length - 1].push(python[i]);
  }
  return groups;
}

/**
 * The native stack (leaf first) with each evaluation call replaced by the Python frames it ran,
 * or undefined when the two do not agree (the number of evaluation calls against the number of
 * Python frame groups). Around them the rules of a readable Python stack hold: leafward of the
 * innermost Python frame, only the interpreter glue right next to it goes (C extensions, libc
 * and kernel frames stay); between Python frames, interpreter frames go (a C extension that calls
 * back into Python stays); rootward of the outermost, the interpreter and libc's start-up go (an
 * embedding program stays).
 */
export function spliceStack(
  native: readonly NativeFrame[],
  python: readonly PythonFrameLike[],
): NativeFrame[] | undefined {
  const calls = evaluationCalls(native);
  const groups = evaluationGroups(python);
  if (calls.length !== groups.length) return undefined;
  if (calls.length === 0) return native.slice();
  const out: NativeFrame[] = [];
  const inner = calls[0];
  // Leafward: drop the run of glue next to the innermost evaluation call.
  let j = inner;
  while (j > 0 && isInterpreterModule(native[j - 1].module) && isGlueSymbol(native[j - 1].sym)) {
    j--;
  }
  for (let i = 0; i < j; i++) out.push(native[i]);
  for (let c = 0; c < calls.length; c++) {
    // The group this call ran: the innermost call ran the innermost group.
    const group = groups[groups.length - 1 - c];
    for (let g = group.length - 1; g >= 0; g--) {
      out.push({ sym: group[g].label, module: "[python]", display: group[g].label });
    }
    const next = c + 1 < calls.length ? calls[c + 1] : native.length;
    for (let i = calls[c] + 1; i < next; i++) {
      const f = native[i];
      if (isInterpreterModule(f.module)) continue;
      if (c + 1 === calls.length && LIBC_ROOT.test(f.sym)) continue;
      out.push(f);
    }
  }
  return out;
}

/** One thread's Python stacks in time order. */
interface ThreadStacks {
  times: number[];
  stacks: number[];
}

/** The reader's samples, as the splice looks them up. */
export interface PythonSamples<F extends PythonFrameLike> {
  /** Distinct stacks: frames outermost first. */
  stacks: F[][];
  /** Samples in time order: CLOCK_MONOTONIC ns, the OS thread id, the stack's index. */
  samples: { time: number; tid: number | undefined; stack: number }[];
  /** The reader's sampling period, ns. */
  periodNs: number;
}

/** Why a perf sample kept its native stack. */
export type SpliceMiss = "no Python sample near it" | "stacks disagree";

/**
 * Finds, for a perf sample of thread `tid` at `timeNs`, the reader's Python stack of that
 * thread nearest in time, and splices it in. A sample on a thread the reader never saw (a
 * thread with no Python, the kernel) passes through unchanged.
 */
export class Splicer<F extends PythonFrameLike> {
  readonly #threads = new Map<number, ThreadStacks>();
  readonly #stacks: F[][];
  readonly #tolerance: number;
  /** Perf samples spliced, passed through (no Python thread), and kept native by reason. */
  spliced = 0;
  passed = 0;
  readonly missed = new Map<SpliceMiss, number>();

  constructor(python: PythonSamples<F>) {
    this.#stacks = python.stacks;
    // Two periods either way: one sample of the thread is always within reach while it runs.
    this.#tolerance = 2 * python.periodNs;
    for (const s of python.samples) {
      if (s.tid === undefined) continue;
      let t = this.#threads.get(s.tid);
      if (!t) this.#threads.set(s.tid, t = { times: [], stacks: [] });
      t.times.push(s.time);
      t.stacks.push(s.stack);
    }
  }

  /** The spliced stack (leaf first) for one perf sample, or its native stack with the miss counted. */
  splice(tid: number, timeNs: number, native: readonly NativeFrame[]): readonly NativeFrame[] {
    if (evaluationCalls(native).length === 0) {
      this.passed++; // no Python running in this sample
      return native;
    }
    const thread = this.#threads.get(tid);
    if (!thread) return this.#miss("no Python sample near it", native);
    const at = nearest(thread.times, timeNs);
    // The nearest sample first, then its neighbours: the stack may have changed in between.
    for (const i of [at, at - 1, at + 1]) {
      if (i < 0 || i >= thread.times.length) continue;
      if (Math.abs(thread.times[i] - timeNs) > this.#tolerance) continue;
      const spliced = spliceStack(native, this.#stacks[thread.stacks[i]]);
      if (spliced) {
        this.spliced++;
        return spliced;
      }
    }
    const near = Math.abs(thread.times[at] - timeNs) <= this.#tolerance;
    return this.#miss(near ? "stacks disagree" : "no Python sample near it", native);
  }

  #miss(reason: SpliceMiss, native: readonly NativeFrame[]): readonly NativeFrame[] {
    this.missed.set(reason, (this.missed.get(reason) ?? 0) + 1);
    return native;
  }

  /** Perf samples that held interpreter frames: spliced plus missed. */
  get pythonSamples(): number {
    let n = this.spliced;
    for (const m of this.missed.values()) n += m;
    return n;
  }
}

/** The index of the time in `times` (ascending, not empty) nearest to `t`. */
function nearest(times: number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] < times[lo] - t ? lo - 1 : lo;
}
