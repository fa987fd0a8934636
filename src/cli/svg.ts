/** `flame svg`: folded stacks in (files or stdin), an interactive SVG flame graph out. */
import {
  CountTotals,
  type FoldedReadStats,
  readFoldedInto,
  readFoldedSync,
} from "../folded/parse.ts";
import { asCollapseInput, HEAD_BYTES, isGzip, openFormatInput } from "../formats/input.ts";
import { detectReader } from "../formats/registry.ts";
import { profileLines, renderOptionsFor } from "../formats/svg.ts";
import type { ProfileReader } from "../formats/format.ts";
import { writeTextOutput } from "../io/output.ts";
import { plural } from "../format.ts";
import { type RenderOptions, renderSvg } from "../render/mod.ts";
import { StackColumns } from "../render/tree.ts";
import { parseCommandArgs, stringValue } from "./args.ts";
import type { Command } from "./command.ts";
import { describeFileError, FlameError } from "../errors.ts";
import { info, stdinIsTerminal, warn } from "../log.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";

const OPTIONS = {
  ...RENDER_OPTIONS,
  output: { type: "string", short: "o" },
} as const;

const HELP = `Usage: flame svg [OPTIONS] [FILE...|-]

Draws folded stacks ("frame;frame;leaf COUNT" lines, as 'flame collapse' and
stackcollapse-*.pl write them) as an interactive SVG flame graph. Any other profile
flame reads is drawn too, its format told by its content: perf script text, DTrace,
pprof, speedscope, .cpuprofile, cProfile, py-spy raw (see 'flame convert --help').
Several files are read as one; no FILE or '-' reads stdin. Lines with two counts
("stack BEFORE AFTER", as difffolded.pl writes) make a differential graph: widths from
AFTER, red grew, blue shrank.

Options:
  -o, --output FILE   write the SVG to FILE (atomically) instead of stdout
${RENDER_OPTIONS_HELP}

In the browser: click a frame to zoom, Reset Zoom or Escape to go back; Search, Ctrl-F
or F3 to search by regular expression (ic or Ctrl-I toggles case); the view is kept in
the URL (?x=&y=&s=).

Examples:
  flame svg out.folded -o graph.svg
  perf script | flame collapse | flame svg --title "my program" > graph.svg
  flame svg --colors java --minwidth 0.5% app.folded -o app.svg
  flame svg --inverted --countname bytes allocations.folded -o allocs.svg
  flame svg diff.folded --negate -o diff.svg    (lines "stack BEFORE AFTER")`;

/**
 * Reads one input into `lines`. Folded stacks (the common case, and the fast one) are parsed
 * in place; any other profile format is read by its reader and its stacks added. Failing to
 * open a file is one line naming it.
 */
async function readInput(
  path: string,
  lines: StackColumns,
  render: Partial<RenderOptions>,
  totals: CountTotals,
): Promise<FoldedReadStats> {
  /** The reader of a file whose head was seen plain (not gzipped): no second detection. */
  let known: ProfileReader | undefined;
  if (path !== "-") {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path);
      if (file.statSync().isDirectory) {
        file.close();
        throw new Deno.errors.IsADirectory(path);
      }
    } catch (err) {
      throw describeFileError(path, err);
    }
    try {
      const head = new Uint8Array(HEAD_BYTES);
      const n = file.readSync(head) ?? 0;
      if (!isGzip(head.subarray(0, n))) {
        const reader = detectReader(head.subarray(0, n));
        if (!reader || reader.name === "folded") {
          file.seekSync(0, Deno.SeekMode.Start);
          return readFoldedSync(file, lines, { name: path, totals });
        }
        known = reader;
      }
    } finally {
      file.close();
    }
  }
  const input = await openFormatInput(path);
  const reader = known ?? detectReader(input.head);
  if (!reader || reader.name === "folded") {
    return await readFoldedInto(asCollapseInput(input), lines, { totals });
  }
  const { profile, warnings } = await reader.read(input, {});
  for (const w of warnings) warn(w);
  render.countName ??= renderOptionsFor(profile).countName;
  for (const line of profileLines(profile)) lines.add(line.stack, line.count, line.before);
  return {
    lines: profile.stacks.size,
    invalid: 0,
    firstInvalidLine: 0,
    differential: profile.before !== undefined,
    tooLong: 0,
    tooLarge: 0,
  };
}

/** The `flame svg` subcommand. */
export const svgCommand: Command = {
  name: "svg",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs("svg", argv, OPTIONS);
    const options = renderOptionsFrom("svg", values);
    const output = stringValue(values, "output");
    const files = positionals.length ? positionals : ["-"];
    if (files.includes("-") && stdinIsTerminal()) {
      info("reading folded stacks from the terminal; end with Ctrl-D (or pass a FILE)");
    }

    const lines = new StackColumns();
    const totals = new CountTotals(); // the inputs' counts are summed into one graph
    let invalid = 0;
    let firstInvalid = "";
    for (const file of files) {
      const stdin = file === "-";
      const stats = await readInput(file, lines, options, totals);
      if (stats.invalid > 0) {
        if (invalid === 0) firstInvalid = `${stdin ? "<stdin>" : file}:${stats.firstInvalidLine}`;
        invalid += stats.invalid;
      }
    }
    const where = files.length === 1 ? (files[0] === "-" ? "stdin" : files[0]) : "the input";
    if (lines.lines === 0) {
      // One line says it all: no warning about invalid lines first.
      const like = "like 'main;work;leaf 42'";
      const bad = invalid === 1
        ? `1 line is not a folded stack ${like}`
        : `${invalid} lines are not folded stacks ${like}`;
      throw new FlameError(
        invalid > 0
          ? `no stack counts found in ${where}: ${bad} (first at ${firstInvalid})`
          : `no stack counts found in ${where}: expected lines ${like}`,
      );
    }
    if (invalid > 0) {
      warn(
        `ignored ${plural(invalid, "line")} that ${
          invalid === 1 ? "is" : "are"
        } not folded stacks (first at ${firstInvalid})`,
      );
    }
    const result = renderSvg(lines, options);
    for (const w of result.warnings) warn(w);
    await writeTextOutput(output, result.svg);
    return 0;
  },
};
