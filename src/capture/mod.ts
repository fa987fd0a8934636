/**
 * The capture pipeline as a library: a target in (a command to run, processes to attach to, the
 * whole system, or a recording made before), a profile out. It drives perf (dtrace on macOS),
 * sets runtimes up, handles Ctrl-C and SIGTERM, reads the recording, diagnoses the stacks and
 * removes what it created. Writing the profile anywhere is the caller's business.
 *
 *   capture(target, options) → CaptureResult { profile, samples, seconds, ending, ... }
 */
import type { Profile } from "../profile/profile.ts";
import type { PerfOptions } from "../collapse/perf.ts";
import { info } from "../log.ts";
import type { CallGraph } from "./perf.ts";
import type { CaptureCommand } from "./diagnose.ts";
import type { RuntimeKind } from "./runtime.ts";
import type { ProgramEnding } from "./signals.ts";
import { Interrupts } from "./signals.ts";
import { ALL_ARTIFACTS, removeArtifacts, removeTree, runtimeFileDirs } from "./cleanup.ts";
import { attachProcesses, recordSystem, runProgram } from "./record.ts";
import { readRecording } from "./read.ts";
import { attachWithReader, type PythonOptions, runWithReader } from "./python.ts";
import { attachSetup, detectTarget, readProcess, realProbe } from "./runtime.ts";
import { perfCapable, perfCommand, PerfNotPermitted, readSysctl } from "./permissions.ts";
import { captureWithDtrace } from "./dtrace_capture.ts";

/** What to capture. */
export type CaptureTarget =
  /** Start a command and record it until it ends (`flame run`). */
  | { kind: "run"; command: string[] }
  /** Record running processes, all their threads, for `duration` s or until they exit. */
  | { kind: "attach"; pids: number[]; duration?: number }
  /** Record every CPU (`flame record -a`). */
  | { kind: "system"; duration?: number }
  /** Read a perf recording made before (`flame report`). */
  | { kind: "report"; data: string };

export type { CaptureCommand, PythonOptions };

/** The command of a target. */
export function commandOf(target: CaptureTarget): CaptureCommand {
  return target.kind === "run" ? "run" : target.kind === "report" ? "report" : "record";
}

/**
 * The sampling rate unless one is given. perf's DWARF stacks copy 16-32 KB of stack per sample:
 * at 99 Hz that is 1.6-3.2 MB/s per busy thread, at 999 Hz 16-32 MB/s (a minute of four busy
 * Python threads would be almost 8 GB, and perf script's time grows with it). No rate suits
 * both a 0.2 s script and a 10-minute service, and the length is not known in advance: so the
 * rate stays safe for long runs, and short ones end with a warning that says to raise it.
 */
export const DEFAULT_FREQ = 99;

/** How to record and read. */
export interface CaptureOptions {
  /** Samples per second. */
  freq: number;
  /** The call-graph mode; undefined picks per runtime. */
  callGraph?: CallGraph;
  /** The event to sample; undefined picks cycles with a PMU, else cpu-clock. */
  event?: string;
  /** Expand inlined functions in perf script (addr2line: slow on big binaries). */
  inline: boolean;
  /** The perf collapser's options (annotations, root frames, filters). */
  collapse: Partial<PerfOptions>;
  /** Keep frames as perf printed them: no readable Python or V8 names. */
  rawFrames: boolean;
  /** perf script processes in parallel; undefined picks by size and cores. */
  jobs?: number;
  /** Keep the perf recording at this path. */
  keepData?: string;
  /** Print the commands flame runs. */
  verbose: boolean;
  /** How Python targets are profiled. */
  python: PythonOptions;
}

/** What a capture produced. */
export interface CaptureResult {
  profile: Profile;
  /** Samples drawn (the idle CPUs' left out of a system-wide capture). */
  samples: number;
  /** Seconds the samples span (or the recording lasted). */
  seconds: number;
  /** The rate the samples were taken at, when known. */
  freq?: number;
  /** `flame run`: how the program ended; its status becomes flame's. */
  ending?: ProgramEnding;
  /** The runtimes whose frames the profile holds (python, node, ...): palettes follow them. */
  runtimes: RuntimeKind[];
  /** A title and a second line describing the capture. */
  title: string;
  subtitle: string;
  /** Set when the processes attached to were idle: why there is nothing to write. */
  idle?: string;
}

/**
 * Captures `target`. Resolves to the profile of what was recorded, also when the program was
 * stopped by Ctrl-C or SIGTERM, failed or crashed; throws FlameError (one line with the fix) when
 * there is nothing to draw or perf cannot record.
 */
export async function capture(
  target: CaptureTarget,
  options: CaptureOptions,
): Promise<CaptureResult> {
  if (target.kind === "report") return await readRecording(target.data, options);
  if (Deno.build.os === "darwin") return await captureWithDtrace(target, options);
  const reader = pythonReaderAlone(target, options);
  if (reader) {
    if (reader.note) info(reader.note);
    return await captureWithReader(target, options);
  }
  try {
    switch (target.kind) {
      case "run":
        return await runProgram(target.command, options);
      case "attach":
        return await attachProcesses(target.pids, target.duration, options);
      case "system":
        return await recordSystem(target.duration, options);
    }
  } catch (err) {
    // perf refused (perf_event_paranoid and the like): Python needs no perf rights.
    if (!(err instanceof PerfNotPermitted) || !isPythonTarget(target, options)) throw err;
    info(`${err.message}: Python stacks are read from the interpreter alone`);
    return await captureWithReader(target, options);
  }
}

/** The Python reader alone, for the run or attach that `isPythonTarget` admitted. */
async function captureWithReader(
  target: CaptureTarget,
  options: CaptureOptions,
): Promise<CaptureResult> {
  if (target.kind === "run") return await runWithReader(target.command, options);
  if (target.kind === "attach") {
    return await attachWithReader(target.pids, target.duration, options);
  }
  throw new Error(`the Python reader cannot capture a ${target.kind} target`);
}

/** True for a run of a Python program, or an attach to Python processes (not `--python perf`). */
function isPythonTarget(target: CaptureTarget, options: CaptureOptions): boolean {
  if (options.python.source === "perf") return false;
  if (target.kind === "run") return detectTarget(target.command, realProbe).kind === "python";
  if (target.kind !== "attach") return false;
  // The rules `flame record -p` sets each process up by (attachSetup), so the two agree.
  return target.pids.some((pid) => {
    const proc = readProcess(pid);
    return proc !== undefined && attachSetup(proc).kind === "python";
  });
}

/**
 * Whether a Python target is profiled by the interpreter reader alone, and why (a note to
 * print, when the user did not ask for it): asked for (`--python reader`, `--idle`, `--gil`:
 * perf sees only threads on a CPU), or perf cannot record here (missing, or not permitted).
 */
function pythonReaderAlone(
  target: CaptureTarget,
  options: CaptureOptions,
): { note?: string } | undefined {
  const py = options.python;
  if (!isPythonTarget(target, options)) return undefined;
  if (py.source === "reader" || py.idle || py.gil) return {};
  const why = perfUnavailable();
  return why ? { note: `${why}: Python stacks are read from the interpreter alone` } : undefined;
}

/** Why perf cannot record here, or undefined when it can (as far as can be told up front). */
function perfUnavailable(): string | undefined {
  if (!realProbe.which(perfCommand())) return "perf is not installed";
  const paranoid = readSysctl("kernel.perf_event_paranoid");
  if ((Deno.uid() ?? 0) !== 0 && !perfCapable() && paranoid !== undefined && paranoid >= 3) {
    return `perf is not permitted (kernel.perf_event_paranoid=${paranoid})`;
  }
  return undefined;
}

/**
 * A second interrupt this soon after the first is the same stop: `timeout -s INT` signals flame
 * and then its process group, and a terminal's Ctrl-C reaches flame both directly and through
 * the program. Only one that comes later aborts.
 */
export const SAME_INTERRUPT_MS = 1000;

/**
 * Runs a capture with a temporary directory and Ctrl-C / SIGTERM handling, and removes both
 * afterwards. The first signal prints what stops (`interrupts.stopping`, updated by each stage)
 * and lets the profile be read; one a second or more later kills what runs, removes the
 * directory and the runtime files of the processes it killed, says so, and exits 130 (or 143
 * for SIGTERM).
 */
export async function withCapture<T>(
  stopping: string,
  run: (tempDir: string, interrupts: Interrupts) => Promise<T>,
): Promise<T> {
  const interrupts: Interrupts = new Interrupts(
    () => info(`${interrupts.stopping} (Ctrl-C again to abort)`),
    (signal) => {
      removeArtifacts(runtimeFileDirs(), new Set(interrupts.killedPids), ALL_ARTIFACTS);
      if (tempDir) removeTree(tempDir);
      info("aborted: no graph written");
      Deno.exit(signal === "SIGTERM" ? 143 : 130);
    },
    SAME_INTERRUPT_MS,
  );
  interrupts.stopping = stopping;
  interrupts.install();
  let tempDir: string | undefined;
  try {
    tempDir = Deno.makeTempDirSync({ prefix: "flame-" });
    return await run(tempDir, interrupts);
  } finally {
    // Removed while the listeners still hold: a signal now cannot leave the directory behind.
    if (tempDir) removeTree(tempDir);
    interrupts.dispose();
  }
}
