/**
 * After a recording: do the stacks look whole? `StackStats` watches every raw stack as the
 * collapser folds it (leaf first, before any frame transform); `diagnose` turns the counts into
 * one-line hints that say what to change (capture.md §1d heuristics, measured on this machine:
 * FP native 21 % rooted, DWARF native 100 %, Python 3.13 at dwarf,32768 99.8 %).
 */
import type { CallGraph } from "./perf.ts";
import { MAX_DWARF_SIZE } from "./perf.ts";
import type { FrameLike } from "../collapse/python.ts";

/** The outermost frames of a complete user stack: process and thread start-up. */
const ROOT = new RegExp(
  "^(?:_start|__libc_start_main\\S*|__libc_start_call_main|start_thread|clone3?|__clone\\S*" +
    "|thread_start|_dl_start_user|_dl_start|runtime\\.goexit\\S*|runtime\\.mstart\\S*" +
    "|runtime\\.rt0_go\\S*|_rt0_\\w+)$",
);

function isKernel(module: string): boolean {
  return module.startsWith("[kernel") || module.endsWith(".ko") || module.endsWith(".ko]");
}

const PERF_MAP = /\/perf-\d+\.map$/;
const INTERPRETER = /(?:^|\/)libpython\d|(?:^|\/)python\d(?:\.\d+)?$/;

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
    if (isKernel(f.module)) {
      s.kernel = true;
      continue;
    }
    outerUser = f;
    const noModule = f.module === "[unknown]" || f.module === "";
    const jitMap = PERF_MAP.test(f.module);
    if (unknown) {
      if (noModule) s.unmapped++;
      else if (jitMap) s.jitUnknown++;
    }
    if (f.sym.startsWith("py::")) s.python = true;
    else if (INTERPRETER.test(f.module)) s.interpreter = true;
    if (!noModule && !jitMap) {
      let m = s.modules.get(f.module);
      if (!m) s.modules.set(f.module, m = { frames: 0, unknown: 0 });
      m.frames++;
      if (unknown) m.unknown++;
    }
  }
  if (outerUser) {
    s.user = true;
    s.rooted = ROOT.test(outerUser.sym);
    s.unknownRoot = !s.rooted && outerUser.sym === "[unknown]" &&
      (outerUser.module === "[unknown]" || outerUser.module === "");
    s.pythonRooted = outerUser.sym.startsWith("py::");
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

/** What the diagnosis needs to know about how the recording was made. */
export interface DiagnoseContext {
  /** The call-graph mode, when known (undefined for `flame report` of a foreign file). */
  callGraph?: CallGraph;
  /** kernel.perf_event_max_stack when recorded. */
  maxStack: number;
  /** The runtimes profiled (for JIT hints). */
  kinds: string[];
  /** A note about the Python version was printed already. */
  pythonNoted?: boolean;
  /** An attach to a Python started with perf_jit (its jitdump was injected). */
  pythonJitAttach?: boolean;
}

const pct = (n: number, d: number) => `${Math.round((100 * n) / d)}%`;

/**
 * Hints for stacks that look cut short or unreadable, most important first. Needs a few dozen
 * samples to say anything.
 */
export function diagnose(stats: StackStats, ctx: DiagnoseContext): string[] {
  const hints: string[] = [];
  if (stats.samples < 20) return hints;
  const cg = ctx.callGraph;
  const jit = ctx.kinds.some((k) => k === "node" || k === "deno" || k === "java");

  // Python 3.12 (or the perf-map backend): unwinding stops at the innermost Python frame.
  const py312 = stats.pythonSamples > 0 && stats.pythonRooted / stats.pythonSamples > 0.8;
  if (py312 && !ctx.pythonNoted) {
    hints.push(
      "Python stacks stop at the innermost Python function (Python 3.12, or -X perf): " +
        "Python 3.13+ with PYTHON_PERF_JIT_SUPPORT=1 shows whole Python stacks ('flame run' sets it)",
    );
  }
  if (
    stats.interpreterSamples > stats.samples * 0.2 && stats.pythonSamples === 0 && !ctx.pythonNoted
  ) {
    hints.push(
      ctx.pythonJitAttach
        ? "no Python function names: attaching to a Python started with perf_jit often fails " +
          "with this perf (the JIT code mapped before the attach is not matched); profile it " +
          "from the start with 'flame run -- python3 ...'"
        : "no Python function names: Python 3.11 and older have no perf support (3.12+ has; " +
          "3.13+ shows whole stacks), or the process was started without PYTHON_PERF_JIT_SUPPORT=1",
    );
  }

  // A failed perf_jit attach also breaks unwinding: the hint above says what to do instead.
  const jitAttachFailed = ctx.pythonJitAttach === true && stats.pythonSamples === 0;
  const user = stats.userSamples;
  const rootedShare = user ? stats.rooted / user : 1;
  if (user >= 20 && rootedShare < 0.8 && !py312 && !jitAttachFailed) {
    const what = `stacks look truncated: only ${pct(stats.rooted, user)} reach _start or ` +
      `start_thread`;
    if (cg?.mode === "fp" && !jit) {
      hints.push(
        `${what} (frame pointers are missing in libc or the program): use --call-graph dwarf`,
      );
    } else if (cg?.mode === "dwarf") {
      const size = cg.size ?? 8192;
      if (size < MAX_DWARF_SIZE) {
        const next = Math.min(size * 2, MAX_DWARF_SIZE);
        hints.push(`${what} (the copied stack ran out): use --call-graph dwarf,${next}`);
      } else {
        hints.push(`${what}, even with the largest DWARF stack copy: try --call-graph fp`);
      }
    } else if (cg?.mode === "fp" && jit) {
      hints.push(
        `${what}: frame pointers are missing somewhere (a JVM without -XX:+PreserveFramePointer?)`,
      );
    } else if (!cg) {
      hints.push(`${what}: record with --call-graph dwarf (or a bigger dwarf,SIZE)`);
    }
  }
  if (cg?.mode !== "dwarf" && stats.frames > 0 && stats.unmapped / stats.frames > 0.05) {
    hints.push(
      `${pct(stats.unmapped, stats.frames)} of frames are [unknown] addresses (a frame-pointer ` +
        `walk through code built without them): use --call-graph dwarf`,
    );
  }
  if (stats.atMaxStack / stats.samples > 0.01) {
    hints.push(
      `${
        pct(stats.atMaxStack, stats.samples)
      } of stacks are exactly ${ctx.maxStack} frames deep, ` +
        `cut by the kernel: sudo sysctl kernel.perf_event_max_stack=1024 before recording`,
    );
  }
  if (stats.frames > 0 && stats.jitUnknown / stats.frames > 0.05 && !jitAttachFailed) {
    const fix = ctx.kinds.includes("java")
      ? "the JVM wrote no perf map (killed before exit? attach needs jcmd PID Compiler.perfmap)"
      : ctx.kinds.includes("node") || ctx.kinds.includes("deno")
      ? "start node with --perf-basic-prof (Deno: --v8-flags=--perf-basic-prof)"
      : ctx.kinds.includes("python")
      ? "Python's perf trampolines were not matched to names"
      : "the runtime wrote no perf map (/tmp/perf-PID.map)";
    hints.push(`${pct(stats.jitUnknown, stats.frames)} of frames are unnamed JIT code: ${fix}`);
  }
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
