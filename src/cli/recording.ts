/**
 * From a perf recording to the SVG, for `flame run`, `flame record` and `flame report` alike:
 * inject JIT code, fold `perf script` output, diagnose the stacks, render and write, keep the
 * recording if asked, clean up, and end with warnings and one summary line. Each command only
 * describes its recording (a `Recording`) and hands it to `finishRecording`.
 */
import { formatBytes, groupDigits } from "../format.ts";
import { FlameError } from "../errors.ts";
import { info, Progress, warn } from "../log.ts";
import { commandEcho, type ProfileSettings, quote } from "./profile.ts";
import { type Palette, renderFoldedStacks, type RenderOptions } from "../render/mod.ts";
import { type FoldedStacks, writeFolded } from "../folded/stacks.ts";
import { writeOutput, writeTextOutput } from "../io/output.ts";
import {
  type CallGraph,
  describeCallGraph,
  headerCallGraph,
  headerSeconds,
  type PerfHeader,
  type RecordSpec,
  sliceCount,
  timeSlices,
} from "../capture/perf.ts";
import {
  injectJit,
  readHeader,
  scriptAndCollapse,
  ScriptError,
  type ScriptOutcome,
} from "../capture/session.ts";
import {
  type CaptureCommand,
  diagnose,
  type DiagnoseContext,
  fewSamplesWarning,
  recordWith,
} from "../capture/diagnose.ts";
import { removeArtifacts, runtimeFileDirs } from "../capture/cleanup.ts";
import type { Interrupts, ProgramEnding } from "../capture/signals.ts";
import { privilegeNotes, readSysctl } from "../capture/permissions.ts";

/** What the first Ctrl-C stops once the recording is being read. */
const STOP_READING = "stopping: the graph shows what was read so far";

/** A perf recording to draw, and what is known about how it was made. */
export interface Recording {
  perf: string;
  /** The perf.data to read, as perf record wrote it. */
  data: string;
  /** A runtime wrote jitdumps: `perf inject --jit` into `tempDir` first. */
  jitdumps?: boolean;
  /** Seconds the recording covers (0: from the samples' times, else the header's). */
  seconds: number;
  /** The sampling rate, when flame chose it (else the header's, if it says). */
  freq?: number;
  /** The call-graph mode, when flame chose it (else the header's). */
  callGraph?: CallGraph;
  /** What else the diagnosis should know. */
  diagnose: Omit<DiagnoseContext, "maxStack" | "command" | "callGraph">;
  /** The event flame recorded (else the header's events say). */
  event?: string;
  /** The recording's header, when already being read (report reads it beside perf script). */
  header?: Promise<PerfHeader | undefined>;
  /** The runtime's palette (used unless --colors was given). */
  palette: Palette;
  /** Pick the palette from what the stacks hold (python when Python frames are common). */
  paletteByContent?: boolean;
  /** Leave out the idle task (`swapper`): cpu-clock samples idle CPUs in a system-wide run. */
  dropIdle?: boolean;
  /** Title and subtitle defaults. */
  title: string;
  subtitle: string;
  /** Delete perf maps and jitdumps of the recorded PIDs afterwards (flame started them). */
  cleanRuntimeFiles: boolean;
  /** Directories the runtimes write their files to. */
  artifactDirs: string[];
  /** flame's temporary directory (for perf inject's output). */
  tempDir?: string;
  interrupts?: Interrupts;
  /** How the profiled program ended (flame run): its warning and exit status become flame's. */
  ending?: ProgramEnding;
  /** Runs once the stacks are read, also after a failure (record removes the maps it made). */
  afterRead?: () => void;
}

/** What a Recording takes from flame's own `perf record`, started at `started` (epoch ms). */
export function recordedBy(
  spec: RecordSpec,
  started: number,
): Pick<
  Recording,
  "perf" | "data" | "freq" | "callGraph" | "event" | "subtitle" | "artifactDirs"
> {
  const date = new Date(started).toISOString().slice(0, 16).replace("T", " ");
  return {
    perf: spec.perf,
    data: spec.output,
    freq: spec.freq,
    callGraph: spec.callGraph,
    event: spec.event,
    subtitle: `${spec.event} at ${spec.freq} Hz, ${describeCallGraph(spec.callGraph)} stacks, ` +
      `${date} UTC`,
    artifactDirs: runtimeFileDirs(),
  };
}

/**
 * Everything after `perf record`: inject if needed, fold and render, keep the data, then the
 * warnings and one summary line, and open the SVG if asked. Resolves to flame's exit status
 * (the program's, for `flame run`); throws FlameError when there is nothing to draw.
 */
export async function finishRecording(
  rec: Recording,
  settings: ProfileSettings,
): Promise<number> {
  if (rec.interrupts) rec.interrupts.stopping = STOP_READING;
  const data = rec.jitdumps && rec.tempDir
    ? await injectJitCode(rec.perf, rec.data, rec.tempDir, settings, rec.interrupts)
    : rec.data;
  const injected = data !== rec.data;
  const keep = settings.keepData;
  let drawn: Drawn;
  try {
    // A kept, injected recording refers to the jitted-*.so files: they stay with it.
    drawn = await foldAndRender({ ...rec, data }, settings, !(keep && injected));
  } catch (err) {
    throw withEnding(err, rec.ending);
  } finally {
    rec.afterRead?.();
    if (keep) keepRecording(data, keep, injected);
  }
  return endCapture(drawn, settings, rec.ending);
}

/** What was drawn: the samples, the seconds they span, and the rate they were taken at. */
export interface Drawn {
  samples: number;
  seconds: number;
  freq?: number;
}

/**
 * The end of every capture: how the program ended, too few samples, the summary line, and the
 * opener. Returns flame's exit status.
 */
export function endCapture(
  drawn: Drawn,
  settings: ProfileSettings,
  ending?: ProgramEnding,
): number {
  if (ending?.warning) warn(ending.warning);
  const few = fewSamplesWarning(drawn.samples, settings.command, drawn.freq);
  if (few) warn(few);
  info(summaryLine(drawn.samples, drawn.seconds, settings.output));
  if (settings.open) openFile(settings.output);
  return ending?.code ?? 0;
}

/**
 * What the folded counts are: perf sums sample periods, and the periods of its clock events
 * (cpu-clock, task-clock) are nanoseconds, so tooltips then show CPU time ("12.3 ms"); other
 * events keep flamegraph.pl's "samples".
 */
export function countNameFor(events: string[], eventFilter?: string): string | undefined {
  const event = eventFilter ?? (events.length === 1 ? events[0] : undefined);
  const base = event?.split(":")[0];
  return base === "cpu-clock" || base === "task-clock" ? "ns" : undefined;
}

/** A failure after the program ended badly says how it ended, and exits with its status. */
function withEnding(err: unknown, ending: ProgramEnding | undefined): unknown {
  if (!(err instanceof FlameError) || !ending?.reason) return err;
  return new FlameError(`${err.message} (${ending.reason})`, ending.code, err.hint);
}

/**
 * Folds perf script's output, prints warnings and hints, and writes the SVG (and folded
 * stacks). Throws FlameError when there is nothing to draw.
 */
async function foldAndRender(
  rec: Recording,
  settings: ProfileSettings,
  cleanJitted: boolean,
): Promise<Drawn> {
  const maxStack = readSysctl("kernel.perf_event_max_stack") ?? 127;
  const outcome = await readStacks(rec, settings, maxStack, cleanJitted);
  const header = await rec.header;
  for (const w of outcome.warnings) warn(w);
  const callGraph = rec.callGraph ?? headerCallGraph(header);
  const command = settings.command;
  for (const h of diagnose(outcome.stats, { ...rec.diagnose, command, callGraph, maxStack })) {
    warn(h);
  }
  if (header?.callchains === false) {
    warn(
      `${rec.data} has no call graphs, so each stack is one frame: ` +
        recordWith(command, "--call-graph dwarf"),
    );
  }
  if (outcome.stats.kernelSamples === 0) {
    for (const n of privilegeNotes(Deno.uid() ?? 0, readSysctl("kernel.perf_event_paranoid"))) {
      warn(n);
    }
  }
  const samples = rec.dropIdle ? dropIdleStacks(outcome) : outcome.samples;
  if (samples === 0 || outcome.stacks.size === 0) throw noSamplesError(command, rec);
  const render: Partial<RenderOptions> = {
    title: rec.title,
    subtitle: rec.subtitle,
    countName: countNameFor(
      rec.event ? [rec.event] : header?.events ?? [],
      settings.collapse.eventFilter,
    ),
    ...settings.render,
  };
  if (!settings.paletteGiven) {
    render.colors = rec.paletteByContent && outcome.stats.pythonSamples > outcome.samples * 0.1
      ? "python"
      : rec.palette;
  }
  await drawAndWrite(outcome.stacks, render, settings);
  return {
    samples,
    seconds: outcome.span || rec.seconds || headerSeconds(header),
    freq: rec.freq ?? header?.freq,
  };
}

/**
 * Streams the recording through perf script (in time slices on big recordings) into folded
 * stacks, with a progress line on a terminal; removes the recorded PIDs' runtime files.
 */
async function readStacks(
  rec: Recording,
  settings: ProfileSettings,
  maxStack: number,
  cleanJitted: boolean,
): Promise<ScriptOutcome> {
  const echo = commandEcho(settings.verbose);
  let size = 0;
  try {
    size = Deno.statSync(rec.data).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new FlameError(`${rec.data}: no such file`);
    throw err;
  }
  // flame's own recordings know their call-graph mode; for report the header says.
  const dwarf = rec.callGraph ? rec.callGraph.mode === "dwarf" : (await rec.header)?.dwarf === true;
  const jobs = settings.jobs ?? sliceCount(size, navigator.hardwareConcurrency ?? 1, dwarf);
  let slices = [""];
  if (jobs > 1) {
    const header = await (rec.header ?? readHeader(rec.perf, rec.data, echo));
    if (header?.firstNs !== undefined && header.lastNs !== undefined) {
      slices = timeSlices(header.firstNs, header.lastNs, jobs);
    }
  }
  const progress = new Progress(!settings.quiet && new Progress().enabled);
  const pids = new Set<number>();
  try {
    return await scriptAndCollapse({
      perf: rec.perf,
      data: rec.data,
      slices,
      inline: settings.inline,
      extraFields: settings.collapse.srcline ? ["srcline"] : undefined,
      collapse: settings.collapse,
      rawFrames: settings.rawFrames,
      maxStack,
      pids,
      interrupts: rec.interrupts,
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
        "run it yourself to see why: perf script -i " + quote(rec.data),
      );
    }
    throw err;
  } finally {
    progress.done();
    if (rec.cleanRuntimeFiles || cleanJitted) {
      // Only the recorded PIDs' files: other processes on the machine have their own.
      removeArtifacts(rec.artifactDirs, pids, {
        maps: rec.cleanRuntimeFiles,
        dumps: rec.cleanRuntimeFiles,
        jitted: cleanJitted,
      });
    }
  }
}

/** The error for a recording without a sample to draw, with the likely cause for the command. */
function noSamplesError(command: CaptureCommand, rec: Recording): FlameError {
  // cpu-clock (and cycles) count time on a CPU: a sleeping or waiting program adds nothing.
  const idle = "perf samples on-CPU time only";
  if (command === "report") {
    return new FlameError(
      `${rec.data}: no samples to draw`,
      1,
      `perf stopped before the first sample, or the program was idle (${idle})`,
    );
  }
  if (command === "record") {
    return new FlameError(
      "no samples were recorded",
      1,
      rec.dropIdle
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

/** Renders the folded stacks and writes the SVG, and the folded stacks when asked. */
export async function drawAndWrite(
  stacks: FoldedStacks,
  render: Partial<RenderOptions>,
  settings: ProfileSettings,
): Promise<void> {
  const result = renderFoldedStacks(stacks, render);
  for (const w of result.warnings) warn(w);
  writeTextOutput(settings.output, result.svg);
  if (settings.folded) {
    await writeOutput(settings.folded, (out) => writeFolded(stacks, out));
  }
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

/** The one-line summary every capture ends with. */
function summaryLine(samples: number, seconds: number, output: string): string {
  const s = samples === 1 ? "sample" : "samples";
  const secs = seconds.toFixed(seconds >= 10 ? 0 : seconds >= 1 ? 1 : 2);
  return `${groupDigits(samples)} ${s} in ${secs} s → ${output}: open it in a browser`;
}

/** Opens a file with the desktop's opener (xdg-open, open); warns when there is none. */
function openFile(path: string): void {
  const opener = Deno.build.os === "darwin" ? "open" : "xdg-open";
  try {
    const child = new Deno.Command(opener, {
      args: [path],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    child.unref();
  } catch {
    warn(`cannot open ${path}: ${opener} is not installed; open it in a web browser`);
  }
}

/**
 * Keeps the recording as `path` (moved when possible, else copied). An injected recording
 * needs the jitted-*.so files perf inject wrote, which are kept for it.
 */
function keepRecording(data: string, path: string, injected: boolean): void {
  try {
    Deno.renameSync(data, path);
  } catch {
    try {
      Deno.copyFileSync(data, path);
    } catch (err) {
      warn(`cannot keep the recording as ${path}: ${err instanceof Error ? err.message : err}`);
      return;
    }
  }
  const jitted = injected ? ", with the /tmp/jitted-*.so files it refers to" : "";
  info(`kept the recording as ${path}${jitted} (draw it again: flame report ${quote(path)})`);
}

/** Runs `perf inject --jit`; returns the data file to read (the raw one if inject failed). */
async function injectJitCode(
  perf: string,
  raw: string,
  tempDir: string,
  settings: ProfileSettings,
  interrupts?: Interrupts,
): Promise<string> {
  const out = `${tempDir}/perf.jit.data`;
  const progress = new Progress(!settings.quiet && new Progress().enabled);
  progress.update("perf inject --jit: turning the JIT code into objects perf can read...");
  const r = await injectJit(
    perf,
    raw,
    out,
    `${tempDir}/buildid`,
    interrupts,
    commandEcho(settings.verbose),
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
