/**
 * `flame convert`: any profile in (the format told by content), any profile out (the format
 * named, or told by the output's extension). Several inputs merge into one profile.
 */
import type { Command } from "./command.ts";
import { numberOption, parseCommandArgs, stringValue } from "./args.ts";
import { UsageError } from "../errors.ts";
import { sink, stdinIsTerminal, warn } from "../log.ts";
import {
  chooseWriter,
  FORMAT_NAMES,
  knownExtensions,
  READERS,
  readProfiles,
  writeProfile,
  WRITERS,
} from "../formats/registry.ts";
import {
  hasPerfOptions,
  PERF_COLLAPSE_OPTIONS,
  perfOptionsFromValues,
} from "./collapse_options.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";

const OPTIONS = {
  ...RENDER_OPTIONS,
  ...PERF_COLLAPSE_OPTIONS,
  output: { type: "string", short: "o" },
  format: { type: "string", short: "f" },
  from: { type: "string" },
  "sample-type": { type: "string" },
  top: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const;

const column = (rows: [string, string][]) => {
  const width = Math.max(...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join("\n");
};

const HELP = `Usage: flame convert [OPTIONS] INPUT... [-o OUTPUT] [--format FORMAT]

Reads profiles in any format flame knows (told by their content; gzipped files are
un-gzipped) and writes one profile in another. Several inputs merge into one (their
stacks add up; they must count the same unit). '-' or no INPUT reads stdin.

Output: --format names the format; else -o's extension tells it; with neither,
folded stacks go to stdout.
${column(WRITERS.map((w) => [w.name, `${w.description} (${w.extensions.join(", ")})`]))}

Input formats:
${column(READERS.map((r) => [r.name, r.description]))}

cProfile files hold no stacks, only each function's callers: the call tree is rebuilt
by splitting each function's time among its callers in proportion to the time each
spent in it (the approximation gprof makes). A function called from two places is
drawn at its average cost in each; a function calling itself is folded into its
outermost call, and a cycle through other functions is followed round once more.

Options:
  -o, --output FILE     write to FILE (atomically); the extension picks the format
  -f, --format FORMAT   ${FORMAT_NAMES.join("|")}
  --from FORMAT         read the inputs as FORMAT instead of telling it from them
  --sample-type TYPE    pprof input: the sample type to read (cpu, alloc_space, ...)
  --top N               summary and json: functions per table (20)
  -q, --quiet           no warnings
  perf script input takes 'flame collapse' options (--pid, --tid, --kernel, ...).

${RENDER_OPTIONS_HELP}

Examples:
  flame convert out.prof -o out.svg                  cProfile to a flame graph
  flame convert app.cpuprofile -o app.speedscope.json
  flame convert cpu.pb.gz --format summary           the top functions, on stdout
  flame convert perf.txt -o perf.pb.gz && go tool pprof -top perf.pb.gz
  flame convert a.folded b.folded -o merged.folded   merge two runs
  flame convert profile.json --format json | jq '.bySelf[0].name'
  py-spy record --format raw -o raw.txt -- python app.py; flame convert raw.txt -o app.svg`;

function stdoutIsTerminal(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** The `flame convert` subcommand. */
export const convertCommand: Command = {
  name: "convert",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs("convert", argv, OPTIONS);
    if (values.quiet === true) sink.quiet = true;
    const output = stringValue(values, "output");
    const format = stringValue(values, "format");
    const writer = chooseWriter(format, output);
    const render = renderOptionsFrom("convert", values);
    const top = numberOption("convert", "top", stringValue(values, "top"), {
      min: 1,
      integer: true,
    });
    const inputs = positionals.length ? positionals : ["-"];
    if (inputs.includes("-") && stdinIsTerminal()) {
      throw new UsageError(
        "convert: no input: give a profile FILE, or pipe one in",
        "run 'flame convert --help' for examples",
      );
    }
    if (!writer.text && (output === undefined || output === "-") && stdoutIsTerminal()) {
      throw new UsageError(
        `convert: ${writer.name} is binary: not written to a terminal`,
        `give -o FILE (extensions: ${knownExtensions()}) or pipe the output`,
      );
    }
    const { profile, warnings } = await readProfiles(inputs, {
      from: stringValue(values, "from"),
      sampleType: stringValue(values, "sample-type"),
      perf: hasPerfOptions(values) ? perfOptionsFromValues(values) : undefined,
    });
    for (const w of warnings) warn(w);
    const written = await writeProfile(output, profile, writer, { render, top });
    for (const w of written) warn(w);
    return 0;
  },
};
