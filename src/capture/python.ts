/**
 * Python capture with flame's own interpreter reader (src/python/): the Python stacks of every
 * thread, read from the process's memory at a steady rate, with no perf and no perf rights. It
 * profiles any CPython (2.7, 3.6 to 3.13) started normally or attached to, and it is what flame
 * uses where perf cannot record. Beside perf (record.ts), the same samples are spliced into
 * perf's native stacks (splice.ts).
 */
import { FlameError } from "../errors.ts";
import { info, warn } from "../log.ts";
import { commandLabel, plural } from "../format.ts";
import type { Profile } from "../profile/profile.ts";
import {
  type SamplingOptions,
  type SamplingResult,
  samplingToProfile,
  startSampler,
  tickPeriodNs,
} from "../python/mod.ts";
import type { CaptureOptions, CaptureResult } from "./mod.ts";
import { withCapture } from "./mod.ts";
import { programEnding, signalPid } from "./signals.ts";
import { detectTarget, realProbe } from "./runtime.ts";
import { checkRunnable, processesPhrase, processLabel, readProcesses } from "./record.ts";

/** What the Python reader is to do. */
export interface PythonOptions {
  /**
   * Where Python stacks come from: `auto` (perf and the reader together, spliced; the reader
   * alone where perf cannot record), `reader` (the reader alone), `perf` (perf alone, with
   * CPython's own perf support).
   */
  source: "auto" | "reader" | "perf";
  /** Keep idle threads (a wall-clock view). Implies the reader alone. */
  idle: boolean;
  /** Only the thread holding the GIL. Implies the reader alone. */
  gil: boolean;
  /** Follow child processes that are Python too. */
  subprocesses: boolean;
  /** Name frames by the line running. */
  lines: boolean;
}

/** The reader's options for one capture. */
function samplingOptions(
  pids: number[],
  options: CaptureOptions,
  py: PythonOptions,
): SamplingOptions {
  return {
    pids,
    rate: options.freq,
    idle: py.idle,
    gil: py.gil,
    subprocesses: py.subprocesses,
    lines: py.lines,
  };
}

/**
 * The reader's samples as a profile in nanoseconds: each sample stands for one sampling period
 * of its thread's time (CPU time, or wall-clock time with idle threads kept), as perf's
 * cpu-clock samples do, so graphs from either path compare.
 */
function readerProfile(
  result: SamplingResult,
  py: PythonOptions,
  name: string,
  roots: "process" | "thread" | "none",
): Profile {
  const profile = samplingToProfile(result, { roots, lines: py.lines, name });
  // Whole nanoseconds, so counts stay integers (99 Hz is 10,101,010 ns, not a fraction); more
  // where ticks were skipped, so the total stays the time the threads ran.
  const period = Math.round(tickPeriodNs(result));
  profile.unit = "nanoseconds";
  for (const [stack, w] of profile.stacks) profile.stacks.set(stack, w * period);
  if (profile.timeline) profile.timeline.weights = profile.timeline.weights.map((w) => w * period);
  return profile;
}

/** Says what the reader dropped and whether it kept up. */
function reportSampling(result: SamplingResult): void {
  // A process that exited is no torn read: its last tick found it gone.
  const dropped = Object.entries(result.dropped).filter(([why, n]) =>
    why !== "exited" && (n ?? 0) > 0
  );
  if (dropped.length > 0) {
    const total = dropped.reduce((s, [, n]) => s + (n ?? 0), 0);
    warn(
      `${plural(total, "read")} of ${result.reads} left out, caught mid-change: ` +
        dropped.map(([why, n]) => `${n} ${why}`).join(", "),
    );
  }
}

/** The error for a reader capture without a sample. */
function noSamples(py: PythonOptions, what: string): FlameError {
  return new FlameError(
    `no Python samples: ${what}`,
    1,
    py.idle
      ? "the process had no Python thread running Python code"
      : "it was idle the whole time (--idle keeps idle threads: a wall-clock view)",
  );
}

/** `flame run -- python ...` with the reader alone: the program runs as flame's child. */
export async function runWithReader(
  command: string[],
  options: CaptureOptions,
): Promise<CaptureResult> {
  const py = options.python;
  const target = detectTarget(command, realProbe);
  checkRunnable(command[0], target);
  const stopping = "stopping the program: the graph is still written";
  return await withCapture(stopping, async (_tempDir, interrupts) => {
    const started = performance.now();
    const child = new Deno.Command(target.argv[0], {
      args: target.argv.slice(1),
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    interrupts.target = {
      stop: (sig) => signalPid(child.pid, sig),
      kill: () => signalPid(child.pid, "SIGKILL"),
    };
    // The program itself may be a shell or a launcher: its Python descendants are followed.
    const sampler = startSampler(
      samplingOptions([child.pid], options, { ...py, subprocesses: true }),
    );
    const status = await child.status;
    interrupts.target = undefined;
    sampler.stop();
    const result = await sampler.result;
    reportSampling(result);
    const title = `flame run: ${commandLabel(command)}`;
    const ending = programEnding(
      status.code,
      status.signal,
      interrupts.interrupted,
      interrupts.signal,
    );
    if (result.samples.length === 0) {
      const err = noSamples(py, "the program ran no Python code flame could see");
      throw ending.reason ? new FlameError(`${err.message} (${ending.reason})`, ending.code) : err;
    }
    return {
      profile: readerProfile(result, py, title, readerRoots(options, result.processes.length > 1)),
      samples: result.samples.length,
      seconds: (performance.now() - started) / 1000,
      freq: result.rate,
      ending,
      runtimes: ["python"],
      title,
      subtitle: readerSubtitle(result, py),
    };
  });
}

/** `flame record -p PID` of Python processes with the reader alone. */
export async function attachWithReader(
  pids: number[],
  duration: number | undefined,
  options: CaptureOptions,
): Promise<CaptureResult> {
  const py = options.python;
  const names = readProcesses(pids).map(processLabel);
  const stopping = "stopping the recording: the graph is still written";
  return await withCapture(stopping, async (_tempDir, interrupts) => {
    info(
      `recording ${processesPhrase(names)} (Python stacks read from the interpreter)` +
        (duration !== undefined ? ` for ${duration} s` : ": press Ctrl-C to stop"),
    );
    const started = performance.now();
    const sampler = startSampler({
      ...samplingOptions(pids, options, py),
      durationMs: duration === undefined ? undefined : duration * 1000,
    });
    interrupts.target = { stop: () => sampler.stop(), kill: () => sampler.stop() };
    const result = await sampler.result;
    interrupts.target = undefined;
    reportSampling(result);
    const title = `flame record: ${names.join(", ")}`;
    if (result.samples.length === 0) throw noSamples(py, `${processesPhrase(names)} ran none`);
    return {
      profile: readerProfile(
        result,
        py,
        title,
        readerRoots(options, pids.length > 1 || result.processes.length > 1),
      ),
      samples: result.samples.length,
      seconds: (performance.now() - started) / 1000,
      freq: result.rate,
      runtimes: ["python"],
      title,
      subtitle: readerSubtitle(result, py),
    };
  });
}

/**
 * Root frames: one per thread with --by-tid (named by the thread's Python name), one per process
 * with --by-pid or when several processes were sampled, else none.
 */
function readerRoots(options: CaptureOptions, several: boolean): "process" | "thread" | "none" {
  if (options.collapse.tid) return "thread";
  return options.collapse.pid || several ? "process" : "none";
}

/** The graph's second line for a reader capture. */
function readerSubtitle(result: SamplingResult, py: PythonOptions): string {
  const what = py.idle
    ? "every thread (wall-clock)"
    : py.gil
    ? "the GIL holder"
    : "running threads";
  const versions = [...new Set(result.processes.map((p) => p.version))].join(", ");
  return `Python ${versions}, ${what} at ${result.rate} Hz, read from the interpreter`;
}
