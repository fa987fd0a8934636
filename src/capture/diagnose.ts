/**
 * After a recording: do the stacks look whole? `StackStats` watches every raw stack as the
 * collapser folds it (leaf first, before any frame transform); `diagnose` turns the counts into
 * one-line hints that say what to change (capture.md §1d heuristics, measured on this machine:
 * FP native 21 % rooted, DWARF native 100 %, Python 3.13 at dwarf,32768 99.8 %).
 */
import type { CallGraph } from "./perf.ts";
import { MAX_DWARF_SIZE } from "./perf.ts";
import type { FrameLike } from "../collapse/python.ts";
import {
  isJitModule,
  isKernelModule,
  isPerfMap,
  isPythonInterpreter,
  isPythonSymbol,
  isStartupSymbol,
  isUnknownModule,
} from "../collapse/frames.ts";

/** What one stack tells the diagnosis; computed once per distinct stack and cached. */
export interface StackSummary {
  frames: number;
  /** Has a user-space frame. */
  user: boolean;
  /** The outermost user frame is process or thread start-up. */
  rooted: boolean;
  /** The outermost user frame is an address in no mapping (DWARF ran out of stack copy). */
  unknownRoot: boolean;
  unmapped: number;
  jitUnknown: number;
  kernel: boolean;
  python: boolean;
  pythonRooted: boolean;
  interpreter: boolean;
  /** Per module: frames, and frames without a symbol. */
  modules: Map<string, { frames: number; unknown: number }>;
}

/**
 * True for a nameless frame in a program's own executable (not a library, a perf map or JIT
 * code): where a stripped program's stack ends, its `_start`. Cut-short stacks end elsewhere:
 * at an address in no mapping.
 */
function isStrippedStart(f: FrameLike): boolean {
  return f.sym === "[unknown]" && f.module.startsWith("/") && !/\.so(?:\.|$)/.test(f.module) &&
    !isJitModule(f.module);
}

/** Summarizes one stack (leaf first, raw perf frames, offsets stripped). */
export function summarizeStack(frames: readonly FrameLike[]): StackSummary {
  const s: StackSummary = {
    frames: frames.length,
    user: false,
    rooted: false,
    unknownRoot: false,
    unmapped: 0,
    jitUnknown: 0,
    kernel: false,
    python: false,
    pythonRooted: false,
    interpreter: false,
    modules: new Map(),
  };
  let outerUser: FrameLike | undefined;
  for (const f of frames) {
    const unknown = f.sym === "[unknown]" || f.sym === "";
    if (isKernelModule(f.module)) {
      s.kernel = true;
      continue;
    }
    outerUser = f;
    const noModule = isUnknownModule(f.module);
    const jitMap = isPerfMap(f.module);
    if (unknown) {
      if (noModule) s.unmapped++;
      else if (jitMap) s.jitUnknown++;
    }
    if (isPythonSymbol(f.sym)) s.python = true;
    else if (isPythonInterpreter(f.module)) s.interpreter = true;
    if (!noModule && !jitMap) {
      let m = s.modules.get(f.module);
      if (!m) s.modules.set(f.module, m = { frames: 0, unknown: 0 });
      m.frames++;
      if (unknown) m.unknown++;
    }
  }
  if (outerUser) {
    s.user = true;
    s.rooted = isStartupSymbol(outerUser.sym) || isStrippedStart(outerUser);
    s.unknownRoot = !s.rooted && outerUser.sym === "[unknown]" &&
      isUnknownModule(outerUser.module);
    s.pythonRooted = isPythonSymbol(outerUser.sym);
  }
  return s;
}

/** Counts gathered over the raw stacks of a recording. */
export class StackStats {
  samples = 0;
  /** Samples with at least one user-space frame. */
  userSamples = 0;
  /** ... whose outermost user frame is a start-up frame. */
  rooted = 0;
  /** ... whose outermost frame is `[unknown]` in no mapping (DWARF ran out of copied stack). */
  unknownRoot = 0;
  frames = 0;
  /** Frames at an address in no mapping: `[unknown] ([unknown])`. */
  unmapped = 0;
  /** Frames in JIT code without a name (`[unknown]` in a perf map). */
  jitUnknown = 0;
  /** Samples with a kernel frame. */
  kernelSamples = 0;
  /** Samples exactly `maxStack` frames deep (cut by kernel.perf_event_max_stack). */
  atMaxStack = 0;
  /** Samples with a CPython frame (`py::`), and of those, stacks rooted at one. */
  pythonSamples = 0;
  pythonRooted = 0;
  /** Samples in the CPython interpreter's code. */
  interpreterSamples = 0;
  /** Per module: frames, and frames without a symbol. */
  readonly modules = new Map<string, { frames: number; unknown: number }>();

  constructor(readonly maxStack = 127) {}

  /** Counts one stack (leaf first, as perf prints it). */
  observe(frames: readonly FrameLike[]): void {
    this.add(summarizeStack(frames));
  }

  /** Counts one sample by its stack's summary. */
  add(s: StackSummary): void {
    this.samples++;
    this.frames += s.frames;
    if (s.frames === this.maxStack) this.atMaxStack++;
    this.unmapped += s.unmapped;
    this.jitUnknown += s.jitUnknown;
    if (s.kernel) this.kernelSamples++;
    if (s.python) this.pythonSamples++;
    if (s.interpreter) this.interpreterSamples++;
    if (s.user) {
      this.userSamples++;
      if (s.rooted) this.rooted++;
      if (s.unknownRoot) this.unknownRoot++;
      if (s.pythonRooted) this.pythonRooted++;
    }
    for (const [name, m] of s.modules) addModule(this.modules, name, m);
  }

  /** Adds another slice's counts. */
  merge(other: StackStats): void {
    for (
      const k of [
        "samples",
        "userSamples",
        "rooted",
        "unknownRoot",
        "frames",
        "unmapped",
        "jitUnknown",
        "kernelSamples",
        "atMaxStack",
        "pythonSamples",
        "pythonRooted",
        "interpreterSamples",
      ] as const
    ) this[k] += other[k];
    for (const [name, m] of other.modules) addModule(this.modules, name, m);
  }
}

function addModule(
  into: Map<string, { frames: number; unknown: number }>,
  name: string,
  m: { frames: number; unknown: number },
): void {
  const mine = into.get(name);
  if (mine) {
    mine.frames += m.frames;
    mine.unknown += m.unknown;
  } else into.set(name, { ...m });
}

/** The flame command that made (run, record) or read (report) the recording. */
export type CaptureCommand = "run" | "record" | "report";

/** What the diagnosis needs to know about how the recording was made. */
export interface DiagnoseContext {
  /** Who asks: the fixes are worded for it (report can only suggest recording again). */
  command: CaptureCommand;
  /** The call-graph mode, when known (undefined for `flame report` of a foreign file). */
  callGraph?: CallGraph;
  /** kernel.perf_event_max_stack when recorded. */
  maxStack: number;
  /** The runtimes profiled (for JIT hints). */
  kinds: string[];
  /** A note about the Python version (or its missing perf support) was printed already. */
  pythonNoted?: boolean;
  /** An attach to a Python started with perf_jit (its jitdump was injected). */
  pythonJitAttach?: boolean;
}

const pct = (n: number, d: number) => `${Math.round((100 * n) / d)}%`;

/**
 * The fix "record with OPTION", worded for the command: `flame report` cannot change how a
 * recording was made, so it says how to record again, with flame or with perf itself.
 */
export function recordWith(command: CaptureCommand, option: string, perfOption = option): string {
  return command === "report"
    ? `record again with ${option} (flame run ${option} -- CMD, or perf record ${perfOption})`
    : `use ${option}`;
}

/**
 * Hints for stacks that look cut short or unreadable, most important first. Needs a few dozen
 * samples to say anything.
 */
export function diagnose(stats: StackStats, ctx: DiagnoseContext): string[] {
  if (stats.samples < 20) return [];
  const hints = pythonHints(stats, ctx);
  // A failed perf_jit attach also breaks unwinding, and Python 3.12's stacks stop at a Python
  // frame: the Python hint says what to do instead of a bigger stack copy.
  const jitAttachFailed = ctx.pythonJitAttach === true && stats.pythonSamples === 0;
  const pythonCut = jitAttachFailed || stopsAtInnermostPython(stats);
  const unmapped = ctx.callGraph?.mode !== "dwarf" && stats.frames > 0 &&
      stats.unmapped / stats.frames > 0.05
    ? `${pct(stats.unmapped, stats.frames)} of frames are [unknown] addresses`
    : undefined;
  const truncated = pythonCut ? undefined : truncationHint(stats, ctx, unmapped);
  if (truncated) hints.push(truncated);
  if (unmapped && !truncated?.includes(unmapped)) {
    hints.push(
      `${unmapped} (a frame-pointer walk through code built without them): ` +
        recordWith(ctx.command, "--call-graph dwarf"),
    );
  }
  if (stats.atMaxStack / stats.samples > 0.01) {
    hints.push(
      `${pct(stats.atMaxStack, stats.samples)} of stacks are exactly ${ctx.maxStack} frames ` +
        `deep, cut by the kernel: sudo sysctl kernel.perf_event_max_stack=1024, then record again`,
    );
  }
  const jitHint = jitAttachFailed ? undefined : unnamedJitHint(stats, ctx);
  if (jitHint) hints.push(jitHint);
  return [...hints, ...symbolHints(stats)];
}

/** True when most Python stacks end at a Python frame (3.12's perf maps, or -X perf). */
function stopsAtInnermostPython(stats: StackStats): boolean {
  return stats.pythonSamples > 0 && stats.pythonRooted / stats.pythonSamples > 0.8;
}

/** Python stacks cut at the innermost function, or no Python names at all. */
function pythonHints(stats: StackStats, ctx: DiagnoseContext): string[] {
  if (ctx.pythonNoted) return [];
  if (stopsAtInnermostPython(stats)) {
    return [
      "Python stacks stop at the innermost Python function (Python 3.12, or -X perf): " +
      "Python 3.13+ with PYTHON_PERF_JIT_SUPPORT=1 shows whole Python stacks" +
      (ctx.command === "run" ? "" : " ('flame run' sets it)"),
    ];
  }
  if (stats.interpreterSamples > stats.samples * 0.2 && stats.pythonSamples === 0) {
    return [`no Python function names: ${noPythonNamesCause(ctx)}`];
  }
  return [];
}

/** Why a Python showed no function names, and the fix, as the command can see it. */
function noPythonNamesCause(ctx: DiagnoseContext): string {
  if (ctx.pythonJitAttach) {
    return "attaching to a Python started with perf_jit often fails with this perf (the JIT " +
      "code mapped before the attach is not matched); profile it from the start with " +
      "'flame run -- python3 ...'";
  }
  switch (ctx.command) {
    case "run":
      // flame run turned perf support on: the Python is too old, or ignored the variable.
      return "Python 3.11 and older have no perf support, and Python 3.12+ run with -E or -I " +
        "ignores PYTHON_PERF_JIT_SUPPORT (give it -X perf_jit instead; -X perf on 3.12)";
    case "record":
      return "the process was started without perf support (Python 3.11 and older have " +
        "none): start it with PYTHON_PERF_JIT_SUPPORT=1 (3.13+) or PYTHONPERFSUPPORT=1 " +
        "(3.12), or profile it with 'flame run'";
    case "report":
      return "the recorded Python had no perf support (3.11 and older have none): record it " +
        "with 'flame run -- python3 ...', which turns it on for Python 3.12+";
  }
}

/**
 * Stacks that do not reach process or thread start-up, with the fix for the call-graph mode.
 * `unmapped` (the share of [unknown] addresses) is named as further evidence of an FP walk.
 */
function truncationHint(
  stats: StackStats,
  ctx: DiagnoseContext,
  unmapped: string | undefined,
): string | undefined {
  const user = stats.userSamples;
  if (user < 20 || stats.rooted / user >= 0.8) return undefined;
  const cg = ctx.callGraph;
  const jit = ctx.kinds.some((k) => k === "node" || k === "deno" || k === "java");
  const what = `stacks look truncated: only ${pct(stats.rooted, user)} reach _start or ` +
    `start_thread`;
  if (cg?.mode === "fp" && !jit) {
    const evidence = unmapped ? `, and ${unmapped}` : "";
    return `${what}${evidence} (frame pointers are missing in libc or the program): ` +
      recordWith(ctx.command, "--call-graph dwarf");
  }
  if (cg?.mode === "fp") {
    return `${what}: frame pointers are missing somewhere (a JVM without ` +
      `-XX:+PreserveFramePointer?)`;
  }
  if (cg?.mode === "dwarf") {
    const size = cg.size ?? 8192;
    if (size >= MAX_DWARF_SIZE) {
      return `${what}, even with the largest DWARF stack copy: ` +
        recordWith(ctx.command, "--call-graph fp", "-g");
    }
    const next = `--call-graph dwarf,${Math.min(size * 2, MAX_DWARF_SIZE)}`;
    return `${what} (the copied stack ran out): ${recordWith(ctx.command, next)}`;
  }
  if (!cg) return `${what}: ${recordWith(ctx.command, "--call-graph dwarf")}`;
  return undefined;
}

/** JIT code without names: what the runtime needs to write its perf map. */
function unnamedJitHint(stats: StackStats, ctx: DiagnoseContext): string | undefined {
  if (stats.frames === 0 || stats.jitUnknown / stats.frames <= 0.05) return undefined;
  const fix = ctx.kinds.includes("java")
    ? "the JVM wrote no perf map (killed before exit? attach needs jcmd PID Compiler.perfmap)"
    : ctx.kinds.includes("node") || ctx.kinds.includes("deno")
    ? "start node with --perf-basic-prof (Deno: --v8-flags=--perf-basic-prof)"
    : ctx.kinds.includes("python")
    ? "Python's perf trampolines were not matched to names"
    : "the runtime wrote no perf map (/tmp/perf-PID.map)";
  return `${pct(stats.jitUnknown, stats.frames)} of frames are unnamed JIT code: ${fix}`;
}

/** Modules whose frames mostly have no symbol (a stripped binary). */
function symbolHints(stats: StackStats): string[] {
  const hints: string[] = [];
  for (const [module, m] of stats.modules) {
    // A distribution's library with some symbols has static functions without: nothing to fix.
    const system = /^\/(?:usr\/)?lib(?:64)?\//.test(module) && m.unknown < m.frames;
    if (!system && m.frames >= stats.frames * 0.05 && m.unknown / m.frames > 0.5) {
      hints.push(
        `${pct(m.unknown, m.frames)} of the frames in ${module} have no symbol ` +
          `(a stripped binary? build with -g, or install its debug symbols)`,
      );
    }
  }
  return hints;
}

/**
 * Below this many samples a function's share is mostly noise: one at 10% is off by about
 * ±3 points at 100 samples and ±7 at 16 (the standard error sqrt(p(1-p)/n)).
 */
const FEW_SAMPLES = 100;

/** The rate worth suggesting for too few samples: perf's 999 Hz (short programs only). */
const HIGH_FREQ = 999;

/**
 * A warning for fewer than FEW_SAMPLES samples, with the fix for the command: a higher rate
 * (when it was below HIGH_FREQ or is unknown) or a longer recording. `freq` gives the CPU
 * time the samples stand for.
 */
export function fewSamplesWarning(
  samples: number,
  command: CaptureCommand,
  freq?: number,
): string | undefined {
  if (samples === 0 || samples >= FEW_SAMPLES) return undefined;
  const cpu = freq ? ` (${(samples / freq).toFixed(2)} s of CPU time at ${freq} Hz)` : "";
  const longer = command === "record" ? "record for longer (--duration)" : "profile a longer run";
  const faster = freq === undefined || freq < HIGH_FREQ ? `-F ${HIGH_FREQ}` : undefined;
  const fix = command === "report"
    ? `record again ${faster ? `at a higher rate (${faster}) or ` : ""}for longer`
    : faster
    ? `raise the rate (${faster}) or ${longer}`
    : longer;
  const s = samples === 1 ? "sample" : "samples";
  return `only ${samples} ${s}${cpu}: too few for reliable proportions; ${fix}`;
}
