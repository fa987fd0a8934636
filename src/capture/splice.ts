/**
 * Where perf and the Python reader meet: each perf sample's native stack (C extensions, libc,
 * the kernel) gets the Python frames the interpreter was running, read from the process's memory
 * at nearly the same moment on the same clock (CLOCK_MONOTONIC). One stack then runs from
 * `<module>` down to the system call, for every CPython version, however the program ends.
 *
 * The interpreter's C stack shows one evaluation call (`_PyEval_EvalFrameDefault`, 2.7's
 * `PyEval_EvalFrameEx`) per C-level entry into Python: up to 3.10 one per Python frame, from
 * 3.11 one per run of Python frames that began with an entry frame (the reader marks them). A
 * perf sample is spliced when its evaluation calls and the reader's groups of frames agree in
 * number, or into its outer calls only when the reader read the stack shallower nearby;
 * otherwise it keeps its native stack and is counted.
 */
import { isGlueSymbol } from "../collapse/python.ts";
import type { SampleHeader } from "./pids.ts";
import {
  isPythonInterpreter as isInterpreterModule,
  isPythonSymbol,
  READER_PYTHON_MODULE,
} from "../collapse/frames.ts";

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
 * What a native stack (leaf first) says about the Python function running: the first frame
 * leafward of the innermost evaluation call that is not the interpreter's glue (the C function
 * the Python function called, or the interpreter operation it runs: `zlib_compress`,
 * `PyNumber_Remainder`), or undefined when the leaf is the evaluation loop itself.
 */
export function calleeOf(
  native: readonly NativeFrame[],
  calls: readonly number[],
): string | undefined {
  if (calls.length === 0) return undefined;
  const j = glueStart(native, calls[0]);
  return j > 0 ? native[j - 1].sym : undefined;
}

/**
 * Where the run of interpreter glue leafward of the evaluation call at `call` begins (leaf
 * first): the index of the glue frame nearest the leaf, or `call` when there is none.
 */
function glueStart(native: readonly NativeFrame[], call: number): number {
  let j = call;
  while (j > 0 && isInterpreterModule(native[j - 1].module) && isGlueSymbol(native[j - 1].sym)) {
    j--;
  }
  return j;
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
 * or undefined when the Python stack has more frame groups than the native one has evaluation
 * calls (or none). With fewer groups (a stack read when it was shallower), the outer calls take
 * them and the inner ones stay native. Around them the rules of a readable Python stack hold:
 * leafward of the innermost Python frame, only the interpreter glue right next to it goes (C
 * extensions, libc and kernel frames stay); between Python frames, interpreter frames go (a C
 * extension that calls back into Python stays); rootward of the outermost, the interpreter and
 * libc's start-up go (an embedding program stays).
 */
export function spliceStack(
  native: readonly NativeFrame[],
  python: readonly PythonFrameLike[],
): NativeFrame[] | undefined {
  // CPython's own perf trampolines (`py::f` frames of a process started with perf support)
  // name what the reader names better: they go.
  if (native.some((f) => isPythonSymbol(f.sym))) {
    native = native.filter((f) => !isPythonSymbol(f.sym));
  }
  const calls = evaluationCalls(native);
  const groups = evaluationGroups(python);
  if (groups.length > calls.length) return undefined;
  if (calls.length === 0) return native.slice();
  if (groups.length === 0) return undefined;
  // The inner calls the Python stack has no group for stay as they are.
  const inner = calls.length - groups.length;
  const out: NativeFrame[] = [];
  // Leafward: drop the run of glue next to the innermost evaluation call spliced.
  const j = inner === 0 ? glueStart(native, calls[0]) : calls[inner];
  for (let i = 0; i < j; i++) out.push(native[i]);
  for (let c = inner; c < calls.length; c++) {
    // The group this call ran: the innermost call spliced ran the innermost group.
    const group = groups[groups.length - 1 - (c - inner)];
    for (let g = group.length - 1; g >= 0; g--) {
      out.push({ sym: group[g].label, module: READER_PYTHON_MODULE, display: group[g].label });
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

/**
 * The share of a callee's samples whose nearest Python stack had a function innermost for that
 * function to count as one calling it (0.2-0.5 measured alike; 0.1 lets the neighbours of a
 * short function in).
 */
const CALLER_SHARE = 0.3;

/**
 * How far from a perf sample the reader's stacks are looked for beyond two reader periods. A
 * function shorter than the reader's period is often not read near a perf sample inside it (and
 * the reader may fall behind for a moment on a busy machine): its stack from a moment before or
 * after (its previous or next call) is where the caller that the native stack's callee was learnt
 * to have is found. A little over two of perf's default periods.
 */
const REACH_NS = 25e6;

/**
 * What a callee's sample between two reads of one function counts for that function as its
 * caller, against 1 for the innermost function of its nearest stack: that function surely ran
 * then (or one it called), while the nearest stack is often a neighbour's when the caller is
 * shorter than the reader's period (mixed.py's read_back: 1-2 ms; 2-5 misplaced its file reads
 * under spin, 5 under none).
 */
const BRACKET_WEIGHT = 5;

/** How often each function was seen calling one callee. */
interface Tally {
  counts: Map<string, number>;
  total: number;
}

/** Counts `label` for `key`, `weight` times. */
function count(tallies: Map<string, Tally>, key: string, label: string, weight: number): void {
  let tally = tallies.get(key);
  if (tally === undefined) tallies.set(key, tally = { counts: new Map(), total: 0 });
  tally.counts.set(label, (tally.counts.get(label) ?? 0) + weight);
  tally.total += weight;
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
  /**
   * Samples in time order: CLOCK_MONOTONIC ns, the OS thread id, the stack's index, and
   * whether the thread was on a CPU (taken as running when not said).
   */
  samples: { time: number; tid: number | undefined; stack: number; running?: boolean }[];
  /** The time one reader sample stands for, ns (its period, more where ticks were skipped). */
  periodNs: number;
}

/** A reader's sample that stands for time perf did not see (`PerfSplice.uncovered`). */
export interface UncoveredSample {
  time: number;
  tid: number;
  stack: number;
  /** The time it stands for, ns. */
  weightNs: number;
}

/** Why a perf sample kept its native stack. */
export type SpliceMiss = "no Python sample near it" | "stacks disagree";

/**
 * Finds, for a perf sample of thread `tid` at `timeNs`, the reader's Python stacks of that
 * thread that may belong with the sample's native stack, and picks one. A sample with no
 * evaluation call (no Python running: a C thread, start-up) passes through.
 *
 * The reader and perf sample at unrelated moments, and a program changes function in
 * milliseconds, so the stack nearest in time is not always the one that ran. The native stack
 * tells two things: it holds as many evaluation calls as the Python stack has groups, and it
 * shows the C function (or interpreter operation) the innermost Python function was calling
 * (`calleeOf`). The candidates are the reader's stacks of the thread that agree in groups:
 * those within two reader periods, then the nearest of each other innermost function up to
 * REACH_NS. The nearest one is mostly right, so over a recording the innermost functions of the
 * nearest candidates of a callee's samples show who calls it: the first candidate whose
 * innermost function makes up at least CALLER_SHARE of them is taken, else the nearest (`learn`
 * first, then `choose`). Where no stack within reach agrees, the nearest shallower one within
 * two reader periods gives perf's outer calls their frames (`spliceStack`).
 */
export class Splicer<F extends PythonFrameLike> {
  readonly #threads = new Map<number, ThreadStacks>();
  readonly #stacks: F[][];
  /** Evaluation groups per stack, worked out when first needed. */
  readonly #groups: number[] = [];
  readonly #tolerance: number;
  /**
   * Per callee: how often each innermost function was its samples' nearest candidate's, and
   * (counting BRACKET_WEIGHT times) how often the reader read it both just before and just
   * after one of them.
   */
  readonly #callers = new Map<string, Tally>();
  /**
   * Perf samples spliced (`partly`: of those, only their outer evaluation calls), passed through
   * (no Python running), and kept native by reason.
   */
  spliced = 0;
  partly = 0;
  passed = 0;
  readonly missed = new Map<SpliceMiss, number>();

  constructor(python: PythonSamples<F>) {
    this.#stacks = python.stacks;
    // Two reader periods either way (and 4 ms at least): a stack of the thread is within reach.
    this.#tolerance = Math.max(2 * python.periodNs, 4e6);
    for (const s of python.samples) {
      if (s.tid === undefined) continue;
      let t = this.#threads.get(s.tid);
      if (!t) this.#threads.set(s.tid, t = { times: [], stacks: [] });
      t.times.push(s.time);
      t.stacks.push(s.stack);
    }
  }

  /** The Python stack of index `i`, outermost first. */
  stack(i: number): readonly F[] {
    return this.#stacks[i];
  }

  /**
   * The reader's stacks (indexes, nearest in time first, each once) that may go with a perf
   * sample of `tid` at `timeNs` whose native stack holds `calls` evaluation calls, and that
   * agree with it in groups: every one within the tolerance (two reader periods), then, up to
   * REACH_NS, the nearest one of each other innermost function; failing those, the nearest
   * shallower one within the tolerance (counted `partly`). Undefined when there is none (counted:
   * passed through when `calls` is 0, else missed).
   */
  candidates(tid: number, timeNs: number, calls: number): number[] | undefined {
    if (calls === 0) {
      this.passed++; // no Python running in this sample
      return undefined;
    }
    const thread = this.#threads.get(tid);
    if (!thread) return this.#miss("no Python sample near it");
    const { times, stacks } = thread;
    const reach = Math.max(this.#tolerance, REACH_NS);
    const out: number[] = [];
    const innermost = new Set<string>();
    /** The nearest stack within the tolerance with fewer groups (but some), for a partial splice. */
    let shallower: number | undefined;
    for (let lo = nearest(times, timeNs), hi = lo + 1; lo >= 0 || hi < times.length;) {
      const dl = lo >= 0 ? Math.abs(timeNs - times[lo]) : Infinity;
      const dh = hi < times.length ? Math.abs(times[hi] - timeNs) : Infinity;
      const distance = Math.min(dl, dh);
      if (distance > reach) break;
      const stack = stacks[dl <= dh ? lo-- : hi++];
      const groups = this.#groupsOf(stack);
      if (groups !== calls) {
        if (groups > 0 && groups < calls && distance <= this.#tolerance) shallower ??= stack;
        continue;
      }
      if (out.includes(stack)) continue;
      const label = this.#innermost(stack);
      if (distance > this.#tolerance && innermost.has(label)) continue;
      out.push(stack);
      innermost.add(label);
    }
    if (out.length > 0) {
      this.spliced++;
      return out;
    }
    // A stack that changes fast (imports nest a dozen evaluation calls, each for a fraction of a
    // millisecond) is seldom read at the depth perf caught it, and a deep one that moves is read
    // less often (torn reads are read again or dropped); the stack grows and shrinks at its
    // inner end, so a shallower stack read just before or after holds perf's outer calls.
    if (shallower !== undefined) {
      this.spliced++;
      this.partly++;
      return [shallower];
    }
    const gap = Math.abs(times[nearest(times, timeNs)] - timeNs);
    return this.#miss(gap > reach ? "no Python sample near it" : "stacks disagree");
  }

  /**
   * The innermost function the reader read both in its last sample of `tid` before `timeNs` and
   * in its first after it, each within the tolerance: the function that surely ran then.
   */
  bracketing(tid: number, timeNs: number): string | undefined {
    const thread = this.#threads.get(tid);
    if (thread === undefined) return undefined;
    const { times, stacks } = thread;
    let after = nearest(times, timeNs);
    if (times[after] < timeNs) after++;
    const before = after - 1;
    if (before < 0 || after >= times.length) return undefined;
    if (timeNs - times[before] > this.#tolerance || times[after] - timeNs > this.#tolerance) {
      return undefined;
    }
    const label = this.#innermost(stacks[before]);
    return label === this.#innermost(stacks[after]) ? label : undefined;
  }

  /**
   * Counts, for a perf sample of `tid` at `timeNs` that called `callee` from `calls` evaluation
   * calls, the innermost function of its nearest candidate and the function that `bracketing`
   * finds, if any. A shallower candidate teaches nothing: its innermost function is not the one
   * that made the call.
   */
  learn(
    tid: number,
    timeNs: number,
    candidates: readonly number[],
    calls: number,
    callee: string | undefined,
  ): void {
    if (callee === undefined || this.#groupsOf(candidates[0]) !== calls) return;
    count(this.#callers, callee, this.#innermost(candidates[0]), 1);
    const bracketing = this.bracketing(tid, timeNs);
    if (bracketing !== undefined) count(this.#callers, callee, bracketing, BRACKET_WEIGHT);
  }

  /**
   * The first candidate whose innermost function is one that calls `callee` (as learnt: at
   * least CALLER_SHARE of its samples), else the nearest.
   */
  choose(candidates: readonly number[], callee: string | undefined): number {
    const tally = callee === undefined ? undefined : this.#callers.get(callee);
    if (tally === undefined || candidates.length === 1) return candidates[0];
    const least = CALLER_SHARE * tally.total;
    return candidates.find((i) => (tally.counts.get(this.#innermost(i)) ?? 0) >= least) ??
      candidates[0];
  }

  /** The number of evaluation groups of the reader's stack `stack`. */
  #groupsOf(stack: number): number {
    return this.#groups[stack] ??= evaluationGroups(this.#stacks[stack]).length;
  }

  /** The label of a stack's innermost Python frame. */
  #innermost(stack: number): string {
    return this.#stacks[stack].at(-1)?.label ?? "";
  }

  #miss(reason: SpliceMiss): undefined {
    this.missed.set(reason, (this.missed.get(reason) ?? 0) + 1);
    return undefined;
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

/**
 * The splice as perf collapser hooks: each sample's thread and time come from its header, its
 * stack node's evaluation calls and callee are worked out once per node, and its candidates
 * (the reader's stacks that may go with it) become the sample's variant. Which candidate a
 * variant takes is decided when it is folded, at the end, when everything the recording teaches
 * about callees is known. One `PerfSplice` serves every collapser of a recording (the slices of
 * a parallel perf script), each with its own hooks.
 */
export class PerfSplice<F extends PythonFrameLike> {
  readonly splicer: Splicer<F>;
  readonly #native = new WeakMap<object, { calls: number; callee?: string }>();
  /** Distinct candidate lists, and the variant number of each. */
  readonly #sets: number[][] = [];
  readonly #setIds = new Map<string, number>();
  /**
   * The time (ns) of perf's latest sample of each thread, and its first of any: after that, the
   * reader's samples stand for what perf did not see (`uncovered`).
   */
  readonly #lastPerfNs = new Map<number, number>();
  #firstPerfNs = Infinity;
  /** perf's name (`comm`) of each thread it sampled, the latest. */
  readonly #comms = new Map<number, string>();
  readonly #python: PythonSamples<F>;

  constructor(python: PythonSamples<F>) {
    this.#python = python;
    this.splicer = new Splicer(python);
  }

  /** The name (`comm`) perf gave thread `tid` in its samples, if it sampled the thread. */
  perfComm(tid: number): string | undefined {
    return this.#comms.get(tid);
  }

  /**
   * Hooks for one collapser: `onHeader` takes the sample's thread and time (its header, parsed
   * once for every hook), `sampleVariant` finds its candidates, `variant` splices in the one
   * chosen. `framesOf` gives a stack node's raw frames (the collapser's own).
   */
  hooks<N extends object>(framesOf: (node: N) => NativeFrame[]): {
    onHeader: (header: SampleHeader) => void;
    sampleVariant: (node: N) => number | undefined;
    variant: (frames: NativeFrame[], key: number) => NativeFrame[];
  } {
    let tid = -1;
    let time = 0;
    return {
      onHeader: (header) => {
        tid = header.tid;
        time = header.timeNs;
        this.#comms.set(tid, header.comm);
        // (The slices of a parallel perf script come in any order.)
        const latest = this.#lastPerfNs.get(tid);
        if (latest === undefined || time > latest) this.#lastPerfNs.set(tid, time);
        if (time < this.#firstPerfNs) this.#firstPerfNs = time;
      },
      sampleVariant: (node) => {
        let native = this.#native.get(node);
        if (native === undefined) {
          const frames = framesOf(node);
          const calls = evaluationCalls(frames);
          native = { calls: calls.length, callee: calleeOf(frames, calls) };
          this.#native.set(node, native);
        }
        const found = this.splicer.candidates(tid, time, native.calls);
        if (found === undefined) return undefined;
        this.splicer.learn(tid, time, found, native.calls, native.callee);
        const key = found.join(",");
        let id = this.#setIds.get(key);
        if (id === undefined) {
          id = this.#sets.length;
          this.#sets.push(found);
          this.#setIds.set(key, id);
        }
        return id;
      },
      variant: (frames, key) => {
        const calls = evaluationCalls(frames);
        const chosen = this.splicer.choose(this.#sets[key], calleeOf(frames, calls));
        return spliceStack(frames, this.splicer.stack(chosen)) ?? frames;
      },
    };
  }

  /**
   * The reader's samples that stand for what perf could not see. perf's counter of a thread
   * counts the thread's CPU time and fires every `perfPeriodNs` of it, each sample's period
   * accounting for the time before it; what the thread ran after its last sample (less than a
   * period) is never seen, and neither is a thread that ran less than one period in all (a
   * request thread of a few milliseconds). So: the reader's samples of a running thread after
   * perf's last sample of it, or of a thread perf never sampled, weighing the reader's period
   * each, up to one perf period per thread in all. (A thread that waited for a CPU between
   * perf's samples reads as running to the reader: that time is not CPU time, and perf's
   * samples already account for its CPU.)
   * `attached`: the reader started before perf attached and stopped after it, so only its
   * samples between perf's first and last count (a program run under perf is recorded whole).
   */
  uncovered(perfPeriodNs: number, { attached }: { attached: boolean }): UncoveredSample[] {
    const out: UncoveredSample[] = [];
    const lastPerf = this.#lastPerfNs;
    const first = attached ? this.#firstPerfNs : -Infinity;
    const last = attached ? Math.max(...lastPerf.values()) : Infinity;
    const weight = this.#python.periodNs;
    const left = new Map<number, number>();
    for (const s of this.#python.samples) {
      if (s.tid === undefined || s.running === false) continue;
      if (s.time < first - perfPeriodNs || s.time > last + perfPeriodNs) continue;
      if (s.time <= (lastPerf.get(s.tid) ?? -Infinity)) continue;
      const budget = left.get(s.tid) ?? perfPeriodNs;
      if (budget <= 0) continue;
      const w = Math.min(weight, budget);
      left.set(s.tid, budget - w);
      out.push({ time: s.time, tid: s.tid, stack: s.stack, weightNs: w });
    }
    return out;
  }
}
