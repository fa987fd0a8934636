/**
 * What `flame run`, `flame record` and `flame report` share: their options, and the way from a
 * perf recording to a written SVG (inject JIT code, fold `perf script` output, diagnose the
 * stacks, render, write, summarize, clean up).
 */
import {
  perfCollapseHelp,
  perfCollapseOptions,
  perfOptionsFromValues,
} from "./collapse_options.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";
import { flagValue, numberOption, type OptionSpec, type OptionValue, stringValue } from "./args.ts";
import { FlameError, UsageError } from "./errors.ts";
import { info, Progress, sink, warn } from "./log.ts";
import type { PerfOptions } from "../collapse/perf.ts";
import { formatBytes } from "../collapse/stream.ts";
import { type Palette, renderFoldedStacks, type RenderOptions } from "../render/mod.ts";
import { writeFolded } from "../folded/stacks.ts";
import { writeOutput, writeTextOutput } from "../io/output.ts";
import {
  type CallGraph,
  chooseEvent,
  hasHardwarePmu,
  headerCallGraph,
  parseCallGraph,
  type PerfHeader,
  sliceCount,
  timeSlices,
} from "../capture/perf.ts";
import {
  type CommandEcho,
  injectJit,
  readHeader,
  scriptAndCollapse,
  ScriptError,
  type ScriptOutcome,
} from "../capture/session.ts";
import { diagnose, type DiagnoseContext } from "../capture/diagnose.ts";
import { removeArtifacts, removeTree } from "../capture/cleanup.ts";
import type { Interrupts } from "../capture/signals.ts";
import { privilegeNotes, readSysctl } from "../capture/permissions.ts";

/** The root-frame options' names here: `--pid` is the process to record. */
export const ROOT_FRAME_NAMES = { pid: "by-pid", tid: "by-tid" };

/** Options shared by run, record and report (parseArgs format). */
export function profileOptions(recording: boolean): OptionSpec {
  const collapse = perfCollapseOptions(ROOT_FRAME_NAMES);
  // --inline means perf script's own inline expansion here; --context needs the collapser's.
  delete collapse.context;
  const spec: OptionSpec = {
    ...RENDER_OPTIONS,
    ...collapse,
    output: { type: "string", short: "o" },
    folded: { type: "string" },
    open: { type: "boolean" },
    "raw-frames": { type: "boolean" },
    jobs: { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
  };
  if (recording) {
    Object.assign(spec, {
      freq: { type: "string", short: "F" },
      "call-graph": { type: "string" },
      event: { type: "string", short: "e" },
      "keep-data": { type: "string" },
    });
  }
  return spec;
}

/** The help text of the shared options. */
export function profileOptionsHelp(recording: boolean): string {
  const rec = recording
    ? `Recording:
  -F, --freq HZ           samples per second (99; raise it for short programs)
      --call-graph MODE   fp | dwarf[,SIZE] | lbr | auto (auto: DWARF for native code and
                          Python, frame pointers for Node, Deno and Java)
  -e, --event EVENT       what to sample (cycles with a hardware PMU, else cpu-clock)
      --keep-data FILE    keep the perf recording as FILE (for 'flame report' or perf)

`
    : "";
  return `${rec}Output:
  -o, --output FILE       the SVG (flame.svg)
      --folded FILE       also write the folded stacks (for 'flame svg', 'flame diff')
      --open              open the SVG with the desktop's opener when done
  -v, --verbose           print the perf commands flame runs
  -q, --quiet             no notes or warnings, errors only
      --jobs N            perf script processes to run in parallel (default: by size and cores)

Stacks:
      --raw-frames        keep every frame as perf printed it: no Python frame names
                          (py::func:file), no interpreter glue dropped, V8 tier marks kept
      --inline            expand inlined functions (perf script's addr2line: slow on big binaries)
${collapseHelpRows()}
      (--by-pid/--by-tid are 'flame collapse --pid/--tid'; here --pid is the process to record)

${RENDER_OPTIONS_HELP}
  (the default palette follows the runtime: python, js, java, else hot)`;
}

/** The collapse options' help rows, aligned with the rest and worded for a live capture. */
function collapseHelpRows(): string {
  return perfCollapseHelp(ROOT_FRAME_NAMES).split("\n").flatMap((line) => {
    const m = /^\s*(\S+)\s+(.*)$/.exec(line);
    if (!m || /^--(?:inline|context)$/.test(m[1])) return [];
    const text = m[1] === "--srcline"
      ? "add each frame's source file:line (slow: addr2line)"
      : m[2];
    return [`      ${m[1].replace("=", " ").padEnd(19)} ${text}`];
  }).join("\n");
}

/** The shared options, read. */
export interface ProfileSettings {
  output: string;
  folded?: string;
  open: boolean;
  rawFrames: boolean;
  inline: boolean;
  jobs?: number;
  verbose: boolean;
  quiet: boolean;
  collapse: Partial<PerfOptions>;
  render: Partial<RenderOptions>;
  /** The user's --colors, if any (else the runtime's palette is used). */
  paletteGiven: boolean;
  freq: number;
  callGraph?: CallGraph;
  event?: string;
  keepData?: string;
}

/** Reads the shared options. */
export function profileSettings(
  command: string,
  values: Record<string, OptionValue>,
): ProfileSettings {
  const collapse = perfOptionsFromValues(values, ROOT_FRAME_NAMES);
  const inline = collapse.inline === true;
  collapse.inline = false; // perf script expands inline frames itself
  collapse.context = false;
  const render = renderOptionsFrom(command, values);
  const freq = numberOption(command, "freq", stringValue(values, "freq"), {
    min: 1,
    integer: true,
  });
  const jobs = numberOption(command, "jobs", stringValue(values, "jobs"), {
    min: 1,
    integer: true,
  });
  return {
    output: stringValue(values, "output") ?? "flame.svg",
    folded: stringValue(values, "folded"),
    open: flagValue(values, "open"),
    rawFrames: flagValue(values, "raw-frames"),
    inline,
    jobs,
    verbose: flagValue(values, "verbose"),
    quiet: flagValue(values, "quiet"),
    collapse,
    render,
    paletteGiven: render.colors !== undefined,
    freq: freq ?? 99,
    callGraph: parseCallGraph(stringValue(values, "call-graph"), command),
    event: stringValue(values, "event"),
    keepData: stringValue(values, "keep-data"),
  };
}

/** The perf binary: $PERF or `perf`. */
export function perfBinary(): string {
  return Deno.env.get("PERF") || "perf";
}

/** The sampling event for this machine (the user's, or cycles/cpu-clock by PMU). */
export function samplingEvent(userEvent: string | undefined): string {
  let devices: string[] = [];
  try {
    devices = [...Deno.readDirSync("/sys/bus/event_source/devices")].map((e) => e.name);
  } catch { /* not Linux, or no sysfs */ }
  return chooseEvent(userEvent, hasHardwarePmu(devices));
}

/** Prints commands before they run when --verbose is on. */
export function commandEcho(verbose: boolean): CommandEcho | undefined {
  if (!verbose) return undefined;
  return (argv, env) => {
    const vars = env
      ? Object.entries(env).filter(([k]) => k !== "PATH").map(([k, v]) => `${k}=${quote(v)} `)
        .join("")
      : "";
    info(`$ ${vars}${argv.map(quote).join(" ")}`);
  };
}

/** Quotes a word for a shell, where it needs it. */
export function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A perf recording to fold, and what is known about how it was made. */
export interface Recording {
  perf: string;
  /** The perf.data to read (after inject, if any). */
  data: string;
  /** Seconds the recording covers. */
  seconds: number;
  /** What the diagnosis should know. */
  diagnose: Omit<DiagnoseContext, "maxStack">;
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
  /** Delete the jitted-PID-N.so files of the recorded PIDs (flame's perf inject made them). */
  cleanJitted: boolean;
  /** Directories the runtimes write their files to. */
  artifactDirs: string[];
  /** Every temporary file flame made, removed at the end (unless kept). */
  tempDir?: string;
  interrupts?: Interrupts;
}

/** The result of folding and drawing. */
export interface ProfileResult {
  samples: number;
  /** Seconds the samples span (the recording's length), or the given wall time. */
  seconds: number;
  outcome: ScriptOutcome;
}

/**
 * From a recording to the SVG: folds perf script's output, prints warnings and hints, writes
 * the SVG (and folded stacks), and removes the runtimes' files. Throws FlameError when there
 * is nothing to draw.
 */
export async function foldAndRender(
  rec: Recording,
  settings: ProfileSettings,
): Promise<ProfileResult> {
  const echo = commandEcho(settings.verbose);
  const maxStack = readSysctl("kernel.perf_event_max_stack") ?? 127;
  let size = 0;
  try {
    size = Deno.statSync(rec.data).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new FlameError(`${rec.data}: no such file`);
    throw err;
  }
  const jobs = settings.jobs ??
    sliceCount(size, navigator.hardwareConcurrency ?? 1, rec.diagnose.callGraph?.mode === "dwarf");
  let slices = [""];
  if (jobs > 1) {
    const header = await (rec.header ?? readHeader(rec.perf, rec.data, echo));
    if (header?.firstNs !== undefined && header.lastNs !== undefined) {
      slices = timeSlices(header.firstNs, header.lastNs, jobs);
    }
  }
  const progress = new Progress(!settings.quiet && new Progress().enabled);
  const pids = new Set<number>();
  let outcome: ScriptOutcome;
  try {
    outcome = await scriptAndCollapse({
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
        "run it yourself to see why: perf script -i " + rec.data,
      );
    }
    throw err;
  } finally {
    progress.done();
    if (rec.cleanRuntimeFiles || rec.cleanJitted) {
      // Only the recorded PIDs' files: other processes on the machine have their own.
      removeArtifacts(rec.artifactDirs, pids, {
        maps: rec.cleanRuntimeFiles,
        dumps: rec.cleanRuntimeFiles,
        jitted: rec.cleanJitted,
      });
    }
  }
  for (const w of outcome.warnings) warn(w);
  if (outcome.interrupted) {
    warn("interrupted while reading the recording: the graph shows the part read until then");
  }
  const callGraph = rec.diagnose.callGraph ?? headerCallGraph(await rec.header);
  const hints = diagnose(outcome.stats, { ...rec.diagnose, callGraph, maxStack });
  for (const h of hints) warn(h);
  if (outcome.stats.kernelSamples === 0) {
    for (const n of privilegeNotes(Deno.uid() ?? 0, readSysctl("kernel.perf_event_paranoid"))) {
      warn(n);
    }
  }
  if (rec.dropIdle) dropIdleStacks(outcome);
  if (outcome.samples === 0 || outcome.stacks.size === 0) {
    throw new FlameError(
      "no samples were recorded",
      1,
      `the program ran too briefly or was idle (cpu-clock counts on-CPU time only); ` +
        `run it longer or raise the frequency (-F 999)`,
    );
  }
  const render: Partial<RenderOptions> = {
    title: rec.title,
    subtitle: rec.subtitle,
    ...settings.render,
  };
  if (!settings.paletteGiven) {
    render.colors = rec.paletteByContent && outcome.stats.pythonSamples > outcome.samples * 0.1
      ? "python"
      : rec.palette;
  }
  const result = renderFoldedStacks(outcome.stacks, render);
  for (const w of result.warnings) warn(w);
  await writeTextOutput(settings.output, result.svg);
  if (settings.folded) {
    await writeOutput(settings.folded, (out) => writeFolded(outcome.stacks, out));
  }
  return { samples: outcome.samples, seconds: outcome.span || rec.seconds, outcome };
}

/** Removes the idle task's stacks (root `swapper`), saying how much of the total they were. */
function dropIdleStacks(outcome: ScriptOutcome): void {
  let total = 0;
  let idle = 0;
  for (const [stack, count] of outcome.stacks) {
    total += count;
    if (/^swapper(?:-0(?:\/0)?)?(?:;|$)/.test(stack)) {
      idle += count;
      outcome.stacks.delete(stack);
    }
  }
  if (idle > 0) {
    info(`left out the idle CPUs (swapper): ${Math.round((100 * idle) / total)}% of the samples`);
  }
}

/** The one-line summary every capture ends with. */
export function summaryLine(samples: number, seconds: number, output: string): string {
  const s = samples === 1 ? "sample" : "samples";
  const secs = seconds >= 10 ? seconds.toFixed(0) : seconds.toFixed(1);
  return `${samples.toLocaleString("en-US")} ${s} in ${secs} s → ${output}: open it in a browser`;
}

/** Opens a file with the desktop's opener (xdg-open, open); warns when there is none. */
export function openFile(path: string): void {
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

/** Sets quiet mode from the settings. */
export function applyQuiet(settings: ProfileSettings): void {
  if (settings.quiet) sink.quiet = true;
}

/** Throws when a positional argument was given to a command that takes none. */
export function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) {
    throw new UsageError(
      `${command}: unexpected argument '${positionals[0]}'`,
      `run 'flame ${command} --help' for the usage`,
    );
  }
}

/** Keeps the recording as `path` (moved when possible, else copied). */
export function keepRecording(data: string, path: string): void {
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
  info(`kept the recording as ${path} (render it again with: flame report ${quote(path)})`);
}

/** Runs `perf inject --jit` when needed; returns the data file to read. */
export async function injectIfNeeded(
  perf: string,
  raw: string,
  tempDir: string,
  needed: boolean,
  settings: ProfileSettings,
  interrupts?: Interrupts,
): Promise<string> {
  if (!needed) return raw;
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

/** Removes the temporary directory of a run. */
export function removeTemp(dir: string | undefined): void {
  if (dir) removeTree(dir);
}
