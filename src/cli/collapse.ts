/**
 * `flame collapse`: profiler output in (`perf script`, DTrace, or folded stacks to merge),
 * folded stacks out, sorted, to stdout or a file.
 */
import type { Command } from "./command.ts";
import { flagValue, parseCommandArgs, stringValue } from "./args.ts";
import { FlameError, UsageError } from "../errors.ts";
import { sink, stdinIsTerminal, warn } from "../log.ts";
import {
  hasPerfOptions,
  PERF_COLLAPSE_OPTIONS,
  perfCollapseHelp,
  perfOptionsFromValues,
} from "./collapse_options.ts";
import { openInput } from "../io/input.ts";
import { writeOutput } from "../io/output.ts";
import { writeFolded } from "../folded/stacks.ts";
import { PerfCollapser, type PerfOptions } from "../collapse/perf.ts";
import { DtraceCollapser } from "../collapse/dtrace.ts";
import {
  detectFormat,
  enoughToDetect,
  FoldedCollapser,
  type InputFormat,
} from "../collapse/detect.ts";
import { collapseInput } from "../collapse/stream.ts";
import { readableFrameOptions } from "../collapse/readable.ts";
import { type Collapser, InputFormatError } from "../collapse/types.ts";

const OPTIONS = {
  ...PERF_COLLAPSE_OPTIONS,
  "raw-frames": { type: "boolean" },
  "js-frames": { type: "boolean" },
  includeoffset: { type: "boolean" },
  output: { type: "string", short: "o" },
  quiet: { type: "boolean", short: "q" },
} as const;

const HELP = `Usage: flame collapse [perf|dtrace] [OPTIONS] [FILE|-]

Profiler output in, folded stacks out. Reads FILE (or standard input) and writes one line
per unique stack, root frame first: 'frame;frame;leaf COUNT', sorted, the input of 'flame svg'
and flamegraph.pl. Counts are the summed sample periods where perf prints them. Without 'perf'
or 'dtrace', the format is told from the start of the input; folded stacks are merged and
sorted again.

Options:
  -o, --output FILE       write to FILE (replaced only when all went well), not stdout
  -q, --quiet             no warnings
  -h, --help              this help

perf script options (stackcollapse-perf.pl's):
${perfCollapseHelp({}, 22)}

Frames of runtimes in perf script input (as in 'flame report'):
  By default CPython's frames read 'fib (work.py)' and the interpreter's glue between them
  is dropped, as 'flame report' shows them. JavaScript frames stay as V8 names them
  ('JS:*fib /app/x.js:3:13'): that is stackcollapse-perf.pl's output, which 'flame collapse'
  keeps for every frame that is not Python's.
  --js-frames             also name V8's frames as 'flame report' does: 'fib (x.js:3)'
  --raw-frames            every frame as perf printed it, Python's too

DTrace options:
  --includeoffset         keep each frame's +0xoffset (the leaf's is removed)

Examples:
  perf script | flame collapse > out.folded
  perf script -i perf.data | flame collapse perf --pid --all -o out.folded
  flame collapse perf --event-filter=cycles perf.txt > cycles.folded
  perf script -i node.data | flame collapse --js-frames > node.folded
  flame collapse dtrace out.stacks > out.folded
  cat a.folded b.folded | flame collapse > merged.folded`;

/** The `flame collapse` subcommand. */
export const collapseCommand: Command = {
  name: "collapse",
  help: HELP,
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("collapse", argv, OPTIONS);
  const args = [...positionals];
  const named = args[0] === "perf" || args[0] === "dtrace"
    ? args.shift() as InputFormat
    : undefined;
  if (args.length > 1) {
    throw new UsageError(
      `collapse: one input at a time, got ${args.length}: ${args.join(" ")}`,
      "merge several folded files with: cat a.folded b.folded | flame collapse",
    );
  }
  const perfGiven = hasPerfOptions(values) || values["raw-frames"] !== undefined ||
    values["js-frames"] !== undefined;
  const rawFrames = flagValue(values, "raw-frames");
  const jsFrames = flagValue(values, "js-frames");
  if (rawFrames && jsFrames) {
    throw new UsageError(
      "collapse: --raw-frames and --js-frames contradict each other",
      "run 'flame collapse --help' for the options",
    );
  }
  const includeOffset = flagValue(values, "includeoffset");
  if (named === "dtrace" && perfGiven) {
    throw new UsageError(
      "collapse: perf script options do not apply to DTrace input",
      "run 'flame collapse --help' for the options",
    );
  }
  if (named === "perf" && includeOffset) {
    throw new UsageError(
      "collapse: --includeoffset is a DTrace option",
      "run 'flame collapse --help' for the options",
    );
  }
  if (flagValue(values, "quiet")) sink.quiet = true;
  const path = args[0];
  if ((path === undefined || path === "-") && stdinIsTerminal()) {
    throw new UsageError(
      "collapse: no input: give a FILE, or pipe 'perf script' output in",
      "run 'flame collapse --help' for examples",
    );
  }
  const perfOptions: Partial<PerfOptions> = {
    ...perfOptionsFromValues(values),
    ...readableFrameOptions({ python: !rawFrames, js: jsFrames }),
  };
  const input = await openInput(path);
  let format: InputFormat | undefined = named;
  const choose = (head: string, complete: boolean): Collapser | undefined => {
    if (format === undefined && !complete && !enoughToDetect(head)) return undefined;
    format ??= detectFormat(head, complete);
    if (format === undefined) {
      if (head.trim() === "") return new PerfCollapser(perfOptions); // empty: no samples
      throw new InputFormatError(
        "cannot tell the input format (not perf script, DTrace or folded stacks); " +
          "name it: flame collapse perf|dtrace FILE",
      );
    }
    return makeCollapser(format, perfOptions, includeOffset);
  };
  let result;
  try {
    result = await collapseInput(input, choose);
  } catch (err) {
    if (err instanceof InputFormatError) {
      throw new FlameError(`${input.name}: ${err.message}`);
    }
    throw err;
  }
  if (format !== undefined && format !== "perf" && perfGiven) {
    warn(`${input.name}: perf script options ignored: the input is ${format}`);
  }
  if (format !== undefined && format !== "dtrace" && includeOffset) {
    warn(`${input.name}: --includeoffset ignored: the input is ${format}`);
  }
  for (const message of result.warnings) warn(`${input.name}: ${message}`);
  const output = stringValue(values, "output");
  await writeOutput(output, (out) => writeFolded(result.stacks, out));
  return 0;
}

function makeCollapser(
  format: InputFormat,
  perfOptions: Partial<PerfOptions>,
  includeOffset: boolean,
): Collapser {
  switch (format) {
    case "perf":
      return new PerfCollapser(perfOptions);
    case "dtrace":
      return new DtraceCollapser({ includeOffset });
    case "folded":
      return new FoldedCollapser();
  }
}
