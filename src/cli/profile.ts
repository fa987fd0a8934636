/**
 * What `flame run`, `flame record` and `flame report` share: their options and help, read into
 * the capture library's options and the output settings.
 */
import { checkOutputPath } from "../io/output.ts";
import {
  perfCollapseHelp,
  perfCollapseOptions,
  perfOptionsFromValues,
} from "./collapse_options.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";
import { flagValue, numberOption, type OptionSpec, type OptionValue, stringValue } from "./args.ts";
import { UsageError } from "../errors.ts";
import { sink } from "../log.ts";
import type { RenderOptions } from "../render/mod.ts";
import type { ProfileWriter } from "../formats/format.ts";
import { FORMAT_NAMES, writerForOutput } from "../formats/registry.ts";
import type { PyroscopeTarget } from "../push/pyroscope.ts";
import { PUSH_OPTIONS, PUSH_OPTIONS_HELP, pushTargetFrom } from "./push.ts";
import {
  type CaptureCommand,
  type CaptureOptions,
  DEFAULT_FREQ,
  type PythonOptions,
} from "../capture/mod.ts";
import { parseCallGraph } from "../capture/perf.ts";

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
    ...PUSH_OPTIONS,
    output: { type: "string", short: "o" },
    format: { type: "string", short: "f" },
    folded: { type: "string" },
    push: { type: "string" },
    open: { type: "boolean" },
    "raw-frames": { type: "boolean" },
    jobs: { type: "string" },
    verbose: { type: "boolean", short: "v" },
    quiet: { type: "boolean", short: "q" },
  };
  if (recording) {
    Object.assign(spec, {
      python: { type: "string" },
      idle: { type: "boolean" },
      gil: { type: "boolean" },
      subprocesses: { type: "boolean" },
      lines: { type: "boolean" },
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

Python (CPython 2.7, 3.6 to 3.13; flame reads the interpreter's stacks from memory):
      --python SOURCE     auto: perf and the interpreter reader together, the Python frames
                          spliced into perf's native and kernel stacks (the reader alone
                          where perf cannot record); reader: the reader alone, no perf;
                          perf: perf alone, with CPython's own perf support (3.12+)
      --idle              keep idle threads too (sleeping, waiting for I/O, a lock or the
                          GIL): a wall-clock view (the reader alone)
      --gil               only the thread holding the GIL (the reader alone)
      --subprocesses      follow child processes that are Python too (a root each)
      --lines             name Python frames by the line running: func (file.py:42)

`
    : "";
  return `${rec}Output:
  -o, --output FILE       where to write (flame.svg); its extension picks the format:
                          .svg .folded .speedscope.json .pb.gz (pprof) .txt (summary) .json
  -f, --format FORMAT     ${FORMAT_NAMES.join("|")} (whatever -o is called)
      --folded FILE       also write the folded stacks (for 'flame svg', 'flame diff')
      --push URL          also send the profile to a Pyroscope server (see below)
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
  (the default palette follows the runtime: python, js, java, else hot)

Push to Grafana Pyroscope (with --push URL; a failed push exits 1, the file is kept):
${PUSH_OPTIONS_HELP}`;
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
  /** The format of `output`. */
  writer: ProfileWriter;
  folded?: string;
  /** Where to push the profile too. */
  push?: PyroscopeTarget;
  open: boolean;
  quiet: boolean;
  render: Partial<RenderOptions>;
  /** The user's --colors, if any (else the runtime's palette is used). */
  paletteGiven: boolean;
  /** What the capture library is to do. */
  capture: CaptureOptions;
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
  const { output, writer } = outputOf(stringValue(values, "output"), stringValue(values, "format"));
  const push = stringValue(values, "push");
  const folded = stringValue(values, "folded");
  const keepData = stringValue(values, "keep-data");
  // Before recording: a profile must never be lost to an output that cannot be written.
  for (const path of [output, folded, keepData]) checkOutputPath(path);
  return {
    command,
    output,
    writer,
    folded,
    push: push === undefined ? undefined : pushTargetFrom(command, push, values),
    open: flagValue(values, "open"),
    quiet: flagValue(values, "quiet"),
    render,
    paletteGiven: render.colors !== undefined,
    capture: {
      freq: freq ?? DEFAULT_FREQ,
      callGraph: parseCallGraph(stringValue(values, "call-graph"), command),
      event: stringValue(values, "event"),
      inline,
      collapse,
      rawFrames: flagValue(values, "raw-frames"),
      jobs,
      keepData,
      verbose: flagValue(values, "verbose"),
      python: pythonOptions(command, values),
    },
  };
}

/**
 * The output file and its format: `--format` when given (the file then `flame` plus the
 * format's extension unless -o names it), else -o's extension, else an SVG. A name with no
 * known extension is an SVG, as it always was.
 */
function outputOf(
  output: string | undefined,
  format: string | undefined,
): { output: string; writer: ProfileWriter } {
  const writer = writerForOutput(format, output);
  return { output: output ?? `flame${writer.extensions[0]}`, writer };
}

/** The Python options. */
function pythonOptions(command: string, values: Record<string, OptionValue>): PythonOptions {
  const source = stringValue(values, "python") ?? "auto";
  if (source !== "auto" && source !== "reader" && source !== "perf") {
    throw new UsageError(
      `${command}: --python wants auto, reader or perf, got '${source}'`,
      `run 'flame ${command} --help'`,
    );
  }
  const py: PythonOptions = {
    source,
    idle: flagValue(values, "idle"),
    gil: flagValue(values, "gil"),
    subprocesses: flagValue(values, "subprocesses"),
    lines: flagValue(values, "lines"),
  };
  if (source === "perf" && (py.idle || py.gil)) {
    throw new UsageError(
      `${command}: --idle and --gil need the interpreter reader, not --python perf`,
      "perf samples threads on a CPU only",
    );
  }
  return py;
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
