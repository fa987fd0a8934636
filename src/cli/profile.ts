/**
 * What `flame run`, `flame record` and `flame report` share before the recording is read: their
 * options, the perf binary and event, command echo and display, and Ctrl-C handling. The way
 * from a recording to the SVG is in recording.ts.
 */
import {
  perfCollapseHelp,
  perfCollapseOptions,
  perfOptionsFromValues,
} from "./collapse_options.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";
import { flagValue, numberOption, type OptionSpec, type OptionValue, stringValue } from "./args.ts";
import { FlameError, UsageError } from "../errors.ts";
import { info, sink } from "../log.ts";
import type { PerfOptions } from "../collapse/perf.ts";
import type { RenderOptions } from "../render/mod.ts";
import {
  type CallGraph,
  chooseEvent,
  hasHardwarePmu,
  parseCallGraph,
  type PerfDataState,
  perfDataState,
  recordArgv,
  type RecordSpec,
} from "../capture/perf.ts";
import { type CommandEcho, runCaptured } from "../capture/session.ts";
import type { CaptureCommand } from "../capture/diagnose.ts";
import { ALL_ARTIFACTS, removeArtifacts, removeTree, runtimeFileDirs } from "../capture/cleanup.ts";
import { Interrupts } from "../capture/signals.ts";
import { realProbe } from "../capture/runtime.ts";
import {
  kernelRelease,
  osRelease,
  perfMissingError,
  readSysctl,
  type RecordAttempt,
  recordFailure,
} from "../capture/permissions.ts";

/**
 * The sampling rate unless -F is given. perf's DWARF stacks copy 16-32 KB of stack per sample:
 * at 99 Hz that is 1.6-3.2 MB/s per busy thread, at 999 Hz 16-32 MB/s (a minute of four busy
 * Python threads would be almost 8 GB, and perf script's time grows with it). No rate suits
 * both a 0.2 s script and a 10-minute service, and the length is not known in advance: so the
 * rate stays safe for long runs, and short ones end with a warning that says to raise it.
 */
export const DEFAULT_FREQ = 99;

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
  -F, --freq HZ           samples per second (${DEFAULT_FREQ}; raise it for short programs)
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
  /** The command they were given to: messages word their fixes for it. */
  command: CaptureCommand;
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
  command: CaptureCommand,
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
    command,
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
    freq: freq ?? DEFAULT_FREQ,
    callGraph: parseCallGraph(stringValue(values, "call-graph"), command),
    event: stringValue(values, "event"),
    keepData: stringValue(values, "keep-data"),
  };
}

/** The perf binary ($PERF or `perf`); throws with the install hint when it is missing. */
export function requirePerf(): string {
  const perf = Deno.env.get("PERF") || "perf";
  if (!realProbe.which(perf)) throw perfMissingError(perf, osRelease(), kernelRelease());
  return perf;
}

/** The sampling event for this machine (the user's, or cycles/cpu-clock by PMU). */
function samplingEvent(userEvent: string | undefined): string {
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

/** Characters of a command shown in titles and messages. */
const LABEL_CHARS = 60;

/** Text on one line: whitespace runs become one space, and past `max` characters an ellipsis. */
export function oneLine(text: string, max = LABEL_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/**
 * A command line for a title or a message: quoted as for a shell, on one line (a `python3 -c`
 * program's newlines would break both), and shortened.
 */
export function commandLabel(argv: string[]): string {
  return oneLine(argv.map((arg) => quote(arg.replace(/\s+/g, " ").trim())).join(" "));
}

/**
 * The `perf record` a capture runs: the settings' event and rate, the call-graph mode given or
 * else `defaults.callGraph`, into `tempDir/perf.data`, perf's own chatter off.
 */
export function recordSpec(
  perf: string,
  settings: ProfileSettings,
  tempDir: string,
  defaults: Pick<RecordSpec, "callGraph" | "monotonicClock" | "target">,
): RecordSpec {
  return {
    perf,
    event: samplingEvent(settings.event),
    freq: settings.freq,
    callGraph: settings.callGraph ?? defaults.callGraph,
    monotonicClock: defaults.monotonicClock,
    output: `${tempDir}/perf.data`,
    target: defaults.target,
    quiet: true,
  };
}

/** What the start of a perf.data file says (`not-perf` when it is missing or empty). */
export function recordingState(path: string): PerfDataState {
  return perfDataState(realProbe.readHead(path, 64) ?? new Uint8Array());
}

/**
 * Throws unless perf record finished its file, with the error that says why, from perf's
 * messages. Unless they were captured (`stderr`), `-q` kept them quiet: the same recording is
 * tried again briefly on `probe` with them on. When that works, the failure was the target's
 * own: `fallback`.
 */
export async function ensureRecorded(
  spec: RecordSpec,
  probe: RecordSpec["target"],
  attempt: Pick<RecordAttempt, "mode" | "pids">,
  fallback: FlameError,
  stderr = "",
): Promise<void> {
  if (recordingState(spec.output) === "ok") return;
  if (stderr.trim() === "") {
    const output = `${spec.output}.probe`;
    const r = await runCaptured(recordArgv({ ...spec, quiet: false, output, target: probe }));
    removeTree(output);
    if (r.success) throw fallback;
    stderr = r.stderr;
  }
  throw recordFailure(stderr, {
    ...attempt,
    event: spec.event,
    euid: Deno.uid() ?? 0,
    paranoid: readSysctl("kernel.perf_event_paranoid"),
  });
}

/**
 * Runs a capture with a temporary directory and Ctrl-C handling, and removes both afterwards.
 * The first Ctrl-C prints what stops (`interrupts.stopping`: `stopping` at first, updated by
 * later stages) and lets the graph be written; a second kills what runs, removes the directory
 * and the runtime files of the processes it killed, and exits 130.
 */
export async function withCapture<T>(
  stopping: string,
  capture: (tempDir: string, interrupts: Interrupts) => Promise<T>,
): Promise<T> {
  const tempDir = Deno.makeTempDirSync({ prefix: "flame-" });
  const interrupts: Interrupts = new Interrupts(
    () => info(`${interrupts.stopping} (Ctrl-C again to abort)`),
    () => {
      removeArtifacts(runtimeFileDirs(), new Set(interrupts.killedPids), ALL_ARTIFACTS);
      removeTree(tempDir);
      Deno.exit(130);
    },
  );
  interrupts.stopping = stopping;
  interrupts.install();
  try {
    return await capture(tempDir, interrupts);
  } finally {
    interrupts.dispose();
    removeTree(tempDir);
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
