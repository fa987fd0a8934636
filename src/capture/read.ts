/**
 * From a perf recording to a profile, for recordings flame just made and for `flame report`
 * alike: inject JIT code, stream `perf script` into the perf collapser (in time slices on big
 * recordings), diagnose the stacks, keep the recording if asked, and remove what the recorded
 * runtimes left behind.
 */
import { keepFile } from "../io/output.ts";
import { FlameError } from "../errors.ts";
import { info, Progress, warn } from "../log.ts";
import { formatBytes, quote } from "../format.ts";
import { emptyProfile, type FrameInfo, type Profile } from "../profile/profile.ts";
import type { CaptureOptions, CaptureResult } from "./mod.ts";
import { type CaptureCommand, diagnose, fewSamplesWarning, recordWith } from "./diagnose.ts";
import {
  type CallGraph,
  headerCallGraph,
  headerSeconds,
  type PerfHeader,
  type RecordSpec,
  sliceCount,
  timeSlices,
} from "./perf.ts";
import {
  injectJit,
  readHeader,
  recordedPids,
  scriptAndCollapse,
  ScriptError,
  type ScriptOutcome,
} from "./session.ts";
import type { Interrupts, ProgramEnding } from "./signals.ts";
import type { RuntimeKind } from "./runtime.ts";
import { recentArtifactPids, removeArtifacts, runtimeFileDirs } from "./cleanup.ts";
import { perfCapable, privilegeNotes, readSysctl } from "./permissions.ts";
import { commandEcho, recordingState, requirePerf } from "./record.ts";
import { PerfSplice, type PythonFrameLike } from "./splice.ts";
import { periodUnit, userOnly } from "../collapse/perf_events.ts";
import { rootFrameName } from "../collapse/perf_state.ts";
import { addStack } from "../folded/stacks.ts";
import { samplesForSplice, type SamplingResult } from "../python/mod.ts";

/** What the first Ctrl-C stops once the recording is being read. */
const STOP_READING = "stopping: the graph shows what was read so far";

/** What flame knows of a recording it made itself. */
export interface Recorded {
  spec: RecordSpec;
  /** When recording started (epoch ms). */
  started: number;
  command: CaptureCommand;
  /** A runtime wrote jitdumps: `perf inject --jit` first. */
  jitdumps: boolean;
  /** Seconds perf recorded. */
  seconds: number;
  /** The runtimes recorded. */
  kinds: RuntimeKind[];
  /** What a Python lacks was said before recording: the diagnosis need not say it again. */
  notesPrinted?: boolean;
  /** An attach to a Python started with perf_jit. */
  pythonJitAttach?: boolean;
  title: string;
  tempDir: string;
  interrupts: Interrupts;
  /** `flame run`: how the program ended. */
  ending?: ProgramEnding;
  /** A system-wide recording: the idle task's samples are left out. */
  dropIdle?: boolean;
  /** The interpreter reader's samples of the recorded Python processes, to splice in. */
  python?: SamplingResult;
  /** Name Python frames by the line running. */
  lines?: boolean;
}

/**
 * Reads the perf recording at `data` into a profile. `recorded` says how flame made it; without
 * it (`flame report`) the recording's header says what it can, and `data` is checked first.
 * Throws FlameError when there is nothing to draw.
 */
export async function readRecording(
  data: string,
  options: CaptureOptions,
  recorded?: Recorded,
): Promise<CaptureResult> {
  const perf = recorded?.spec.perf ?? (checkRecording(data), requirePerf());
  const echo = commandEcho(options.verbose);
  // Read beside perf script when flame did not record it: the diagnosis and time slices need it.
  const header = recorded ? undefined : readHeader(perf, data, echo);
  if (recorded) recorded.interrupts.stopping = STOP_READING;
  const script = recorded?.jitdumps
    ? await injectJitCode(perf, data, recorded.tempDir, options, recorded.interrupts)
    : data;
  const injected = script !== data;
  const command = recorded?.command ?? "report";
  const cleanRuntimeFiles = command === "run";
  const spliceInput = recorded?.python
    ? samplesForSplice(recorded.python, { lines: recorded.lines })
    : undefined;
  const splice = spliceInput ? new PerfSplice(spliceInput) : undefined;
  let outcome: ScriptOutcome;
  try {
    outcome = await readStacks(perf, script, options, {
      splice,
      callGraph: recorded?.spec.callGraph,
      header,
      interrupts: recorded?.interrupts,
      // A kept, injected recording refers to the jitted-*.so files: they stay with it.
      clean: recorded === undefined ? undefined : {
        runtimeFiles: cleanRuntimeFiles,
        jitted: !(options.keepData && injected),
      },
    });
  } catch (err) {
    if (options.keepData) await keepRecording(script, options.keepData, injected);
    throw withEnding(err, recorded?.ending);
  }
  // Before the recording moves: its task events name the processes that got no sample.
  if (cleanRuntimeFiles && recorded) {
    await removeStrayFiles(perf, script, recorded.started, outcome);
  }
  if (options.keepData) await keepRecording(script, options.keepData, injected);
  // What the weights are: flame's recording has one event; else the samples kept decide (one
  // event: the filter's, or the first seen), not the header.
  const unit = recorded
    ? periodUnit(recorded.spec.event)
    : outcome.clock.nanoseconds
    ? "nanoseconds"
    : "samples";
  if (splice && spliceInput && recorded?.python) {
    const { frameInfo } = spliceInput;
    // The reader's samples weigh time: only where perf's weights are time too.
    if (unit === "nanoseconds") {
      addUncovered(outcome, splice, frameInfo, recorded.python, options, command);
    }
    describeReaderFrames(outcome, frameInfo);
    reportSplice(splice);
  }
  const callGraph = recorded?.spec.callGraph ?? headerCallGraph(await header);
  const maxStack = readSysctl("kernel.perf_event_max_stack") ?? 127;
  for (const w of outcome.warnings) warn(w);
  for (
    const h of diagnose(outcome.stats, {
      command,
      callGraph,
      maxStack,
      kinds: recorded?.kinds ?? [],
      // Spliced: the interpreter reader named the Python frames, perf had no need to.
      pythonNoted: recorded?.notesPrinted || splice !== undefined,
      pythonJitAttach: recorded?.pythonJitAttach,
    })
  ) warn(h);
  const head = await header;
  if (head?.callchains === false) {
    warn(
      `${data} has no call graphs, so each stack is one frame: ` +
        recordWith(command, "--call-graph dwarf"),
    );
  }
  // Recorded here: the rights decide (a stray frame of a user-only recording can look like a
  // kernel one). Else: no kernel frame, or perf excluded the kernel (`cpu-clock:u` in the header).
  const kernelLost = recorded
    ? !perfCapable()
    : outcome.stats.kernelSamples === 0 || userOnly(head?.events ?? []);
  if (kernelLost) {
    for (const n of privilegeNotes(Deno.uid() ?? 0, readSysctl("kernel.perf_event_paranoid"))) {
      warn(n);
    }
  }
  const samples = recorded?.dropIdle ? dropIdleStacks(outcome) : outcome.samples;
  if (samples === 0 || outcome.stacks.size === 0) {
    // Processes attached to that used no CPU: a finding, not a failure (nothing is written).
    if (recorded && command === "record" && !recorded.dropIdle) {
      const t = recorded.spec.target;
      const span = "pids" in t && t.duration !== undefined ? t.duration : recorded.seconds;
      return {
        profile: profileOf({ stacks: new Map(), frames: new Map() }, "samples", recorded.title),
        samples: 0,
        seconds: recorded.seconds,
        runtimes: recorded.kinds.filter((k) => k !== "native"),
        title: recorded.title,
        subtitle: "",
        idle: `no CPU time in ${span.toFixed(1)} s: the process was idle, so there ` +
          "is no graph to write (perf samples on-CPU time only); record while it is busy, or " +
          "for longer",
      };
    }
    throw withEnding(noSamplesError(command, data, recorded?.dropIdle === true), recorded?.ending);
  }
  const freq = recorded?.spec.freq ?? head?.freq;
  const few = fewSamplesWarning(samples, command, freq);
  if (few) warn(few);
  const runtimes = recorded?.kinds.filter((k) => k !== "native") ??
    (outcome.stats.pythonSamples > outcome.samples * 0.1 ? ["python" as const] : []);
  return {
    profile: profileOf(
      outcome,
      unit,
      recorded?.title ?? `flame report: ${data}`,
    ),
    samples,
    seconds: outcome.span || recorded?.seconds || headerSeconds(head),
    freq,
    ending: recorded?.ending,
    runtimes,
    title: recorded?.title ?? `flame report: ${data}`,
    subtitle: recorded ? describeRecording(recorded.spec, recorded.started) : "",
  };
}

/** `cpu-clock at 99 Hz, dwarf,16384 stacks, 2026-12-06 16:40 UTC`: the graph's second line. */
function describeRecording(spec: RecordSpec, started: number): string {
  const date = new Date(started).toISOString().slice(0, 16).replace("T", " ");
  const cg = spec.callGraph;
  const stacks = cg.mode === "dwarf" && cg.size ? `dwarf,${cg.size}` : cg.mode;
  return `${spec.event} at ${spec.freq} Hz, ${stacks} stacks, ${date} UTC`;
}

/** The folded stacks as a profile, with what is known of their frames. */
function profileOf(
  outcome: Pick<ScriptOutcome, "stacks" | "frames">,
  unit: Profile["unit"],
  name: string,
): Profile {
  const profile = emptyProfile(unit, { name, producer: "perf" });
  profile.stacks = outcome.stacks;
  profile.frames = outcome.frames;
  return profile;
}

/**
 * Adds the reader's samples that stand for CPU time perf could not see (`PerfSplice.uncovered`:
 * threads shorter than perf's sampling period, and the end of each thread): their Python frames
 * alone, under the root frame perf would give them.
 */
function addUncovered(
  outcome: ScriptOutcome,
  splice: PerfSplice<PythonFrameLike>,
  frameInfo: ReadonlyMap<string, FrameInfo>,
  python: SamplingResult,
  options: CaptureOptions,
  command: CaptureCommand,
): void {
  const uncovered = splice.uncovered(1e9 / options.freq, { attached: command === "record" });
  if (uncovered.length === 0) return;
  const comm = new Map(python.processes.map((p) => [p.pid, p.comm || "python"]));
  const pidOf = new Map(python.threads.map((t) => [t.tid, t.pid]));
  const keys = new Map<string, string>();
  for (const s of uncovered) {
    const id = `${s.tid}:${s.stack}`;
    let key = keys.get(id);
    if (key === undefined) {
      const pid = pidOf.get(s.tid) ?? 0;
      // perf's name of the thread where perf sampled it, else of its process's main thread.
      const name = splice.perfComm(s.tid) ?? splice.perfComm(pid) ?? comm.get(pid) ?? "python";
      const root = rootFrameName(name, pid, s.tid, options.collapse);
      const frames = splice.splicer.stack(s.stack).map((f) => f.label);
      key = [root, ...frames].join(";");
      keys.set(id, key);
      for (const label of frames) {
        if (!outcome.frames.has(label)) outcome.frames.set(label, frameInfo.get(label)!);
      }
    }
    addStack(outcome.stacks, key, Math.round(s.weightNs));
    outcome.samples++;
  }
  // The samples span the reader's too (perf may have sampled a thread-per-request server a
  // handful of times).
  const spanNs = uncovered[uncovered.length - 1].time - uncovered[0].time;
  outcome.span = Math.max(outcome.span, spanNs / 1e9);
}

/**
 * The reader's knowledge of the Python frames it named (file and line) replaces what perf's
 * folding could tell of them from their names alone (only that they are Python).
 */
function describeReaderFrames(
  outcome: ScriptOutcome,
  frameInfo: ReadonlyMap<string, FrameInfo>,
): void {
  for (const [label, info] of frameInfo) {
    if (outcome.frames.get(label)?.kind === "python") outcome.frames.set(label, info);
  }
}

/** One line on how the splice went: how much of the Python samples hold Python frames. */
function reportSplice(splice: PerfSplice<PythonFrameLike>): void {
  const s = splice.splicer;
  const python = s.pythonSamples;
  if (python === 0) return;
  const share = Math.round((100 * s.spliced) / python);
  const notes = [...s.missed].map(([why, n]) => `${n} ${why}`);
  const missed = notes.length > 0 ? `kept native: ${notes.join(", ")}` : "";
  const partly = s.partly > 0
    ? `${s.partly} in their outer calls only, the reader having read them shallower`
    : "";
  const more = [partly, missed].filter((x) => x !== "").join("; ");
  info(
    `Python frames from the interpreter spliced into ${share}% of the samples running Python` +
      (more ? ` (${more})` : ""),
  );
}

/** A failure after the program ended badly says how it ended, and exits with its status. */
function withEnding(err: unknown, ending: ProgramEnding | undefined): unknown {
  if (!(err instanceof FlameError) || !ending?.reason) return err;
  return new FlameError(`${err.message} (${ending.reason})`, ending.code, err.hint);
}

/** How reading is to go. */
interface ReadPlan {
  /** The call-graph mode, when flame recorded it (else the header says). */
  callGraph?: CallGraph;
  header?: Promise<PerfHeader | undefined>;
  interrupts?: Interrupts;
  /** Runtime files to remove for the recorded PIDs (flame's own recordings only). */
  clean?: { runtimeFiles: boolean; jitted: boolean };
  /** The reader's Python stacks to splice into perf's. */
  splice?: PerfSplice<PythonFrameLike>;
}

/**
 * Streams the recording through perf script (in time slices on big recordings) into folded
 * stacks, with a progress line on a terminal; removes the recorded PIDs' runtime files.
 */
async function readStacks(
  perf: string,
  data: string,
  options: CaptureOptions,
  plan: ReadPlan,
): Promise<ScriptOutcome> {
  const echo = commandEcho(options.verbose);
  let size = 0;
  try {
    size = Deno.statSync(data).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new FlameError(`${data}: no such file`);
    throw err;
  }
  // flame's own recordings know their call-graph mode; for report the header says.
  const dwarf = plan.callGraph
    ? plan.callGraph.mode === "dwarf"
    : (await plan.header)?.dwarf === true;
  const jobs = options.jobs ?? sliceCount(size, navigator.hardwareConcurrency ?? 1, dwarf);
  let slices = [""];
  if (jobs > 1) {
    const header = await (plan.header ?? readHeader(perf, data, echo));
    if (header?.firstNs !== undefined && header.lastNs !== undefined) {
      slices = timeSlices(header.firstNs, header.lastNs, jobs);
    }
  }
  const progress = new Progress();
  const pids = new Set<number>();
  try {
    return await scriptAndCollapse({
      perf,
      data,
      slices,
      inline: options.inline,
      extraFields: options.collapse.srcline ? ["srcline"] : undefined,
      collapse: options.collapse,
      rawFrames: options.rawFrames,
      maxStack: readSysctl("kernel.perf_event_max_stack") ?? 127,
      pids,
      interrupts: plan.interrupts,
      splice: plan.splice,
      onProgress: (bytes, samples) =>
        progress.update(() =>
          `reading the recording: ${formatBytes(bytes)} of stacks, ${samples} samples`
        ),
      echo,
    });
  } catch (err) {
    if (err instanceof ScriptError) {
      throw new FlameError(
        `perf script failed: ${err.message}`,
        1,
        "run it yourself to see why: perf script -i " + quote(data),
      );
    }
    throw err;
  } finally {
    progress.done();
    const clean = plan.clean;
    if (clean && (clean.runtimeFiles || clean.jitted)) {
      // Only the recorded PIDs' files: other processes on the machine have their own.
      removeArtifacts(runtimeFileDirs(), pids, {
        maps: clean.runtimeFiles,
        dumps: clean.runtimeFiles,
        jitted: clean.jitted,
      });
    }
  }
}

/**
 * Removes the runtime files of the run's processes that got no sample (a program's short-lived
 * children): files written during the run by PIDs the recording saw start. The recording's
 * task events are read only when such files exist.
 */
async function removeStrayFiles(
  perf: string,
  data: string,
  started: number,
  outcome: ScriptOutcome,
): Promise<void> {
  const dirs = runtimeFileDirs();
  const stray = recentArtifactPids(dirs, started, outcome.pids);
  if (stray.size === 0) return;
  const ours = await recordedPids(perf, data);
  const pids = new Set([...stray].filter((pid) => ours.has(pid)));
  removeArtifacts(dirs, pids, { maps: true, dumps: true, jitted: true });
}

/** Throws unless `data` is a perf recording perf finished writing. */
function checkRecording(data: string): void {
  let isFile: boolean;
  try {
    isFile = Deno.statSync(data).isFile;
  } catch {
    throw new FlameError(
      `${data}: no such file`,
      1,
      data === "perf.data"
        ? "record one first: flame run --keep-data perf.data -- CMD " +
          "(or perf record --call-graph dwarf)"
        : "check the path",
    );
  }
  if (!isFile) throw new FlameError(`${data}: not a file`);
  switch (recordingState(data)) {
    case "not-perf":
      throw new FlameError(
        `${data}: not a perf recording`,
        1,
        "flame report reads perf.data files; for perf script text, folded stacks or other " +
          "profiles: flame svg FILE",
      );
    case "unfinished":
      throw new FlameError(
        `${data}: perf did not finish writing this recording (was it killed?)`,
        1,
        "record it again, and stop perf record with Ctrl-C rather than kill -9",
      );
  }
}

/** The error for a recording without a sample to draw, with the likely cause for the command. */
function noSamplesError(command: CaptureCommand, data: string, system: boolean): FlameError {
  // cpu-clock (and cycles) count time on a CPU: a sleeping or waiting program adds nothing.
  const idle = "perf samples on-CPU time only";
  if (command === "report") {
    return new FlameError(
      `${data}: no samples to draw`,
      1,
      `perf stopped before the first sample, or the program was idle (${idle})`,
    );
  }
  if (command === "record") {
    return new FlameError(
      "no samples were recorded",
      1,
      system
        ? `the CPUs were idle (${idle}): record while the system is busy, or for longer`
        : `the process was idle (${idle}): record while it is busy, or for longer`,
    );
  }
  return new FlameError(
    "no samples were recorded",
    1,
    `the program ran too briefly or was idle (${idle}): raise the rate (-F 999) or run it longer`,
  );
}

/**
 * Removes the idle task's stacks (root `swapper`), saying how much of the total they were.
 * Returns the samples left, estimated from their share (stacks count time, not samples).
 */
function dropIdleStacks(outcome: ScriptOutcome): number {
  let total = 0;
  let idle = 0;
  for (const [stack, count] of outcome.stacks) {
    total += count;
    if (/^swapper(?:-0(?:\/0)?)?(?:;|$)/.test(stack)) {
      idle += count;
      outcome.stacks.delete(stack);
    }
  }
  if (idle === 0) return outcome.samples;
  info(`left out the idle CPUs (swapper): ${Math.round((100 * idle) / total)}% of the samples`);
  return Math.round((outcome.samples * (total - idle)) / total);
}

/**
 * Keeps the recording as `path`, atomically (moved, or copied beside it and renamed: a full
 * disk leaves no cut copy). An injected recording needs the jitted-*.so files perf inject
 * wrote, which are kept for it.
 */
async function keepRecording(data: string, path: string, injected: boolean): Promise<void> {
  try {
    await keepFile(data, path);
  } catch (err) {
    warn(`the recording was not kept: ${err instanceof Error ? err.message : err}`);
    return;
  }
  const jitted = injected ? ", with the /tmp/jitted-*.so files it refers to" : "";
  info(`kept the recording as ${path}${jitted} (draw it again: flame report ${quote(path)})`);
}

/** Runs `perf inject --jit`; returns the data file to read (the raw one if inject failed). */
async function injectJitCode(
  perf: string,
  raw: string,
  tempDir: string,
  options: CaptureOptions,
  interrupts: Interrupts,
): Promise<string> {
  const out = `${tempDir}/perf.jit.data`;
  const progress = new Progress();
  progress.update("perf inject --jit: turning the JIT code into objects perf can read...");
  const r = await injectJit(
    perf,
    raw,
    out,
    `${tempDir}/buildid`,
    interrupts,
    commandEcho(options.verbose),
  ).finally(() => progress.done());
  if (!r.ok) {
    warn(`perf inject --jit failed (${r.message}): JIT frames stay unnamed`);
    return raw;
  }
  try {
    Deno.removeSync(raw); // the injected copy holds everything; halve the disk use
  } catch { /* keep going */ }
  return out;
}
