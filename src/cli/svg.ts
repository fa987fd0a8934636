/** `flame svg`: folded stacks in (files or stdin), an interactive SVG flame graph out. */
import { type FoldedReadStats, readFoldedInto, readFoldedSync } from "../folded/parse.ts";
import { openInput } from "../io/input.ts";
import { writeTextOutput } from "../io/output.ts";
import { plural } from "../format.ts";
import { renderSvg } from "../render/mod.ts";
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
stackcollapse-*.pl write them) as an interactive SVG flame graph. Several files are
read as one; no FILE or '-' reads stdin. Lines with two counts ("stack BEFORE AFTER",
as difffolded.pl writes) make a differential graph: widths from AFTER, red grew, blue
shrank.

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

/** Reads the folded file at `path` into `lines`; failing to open it is one line naming it. */
function readFile(path: string, lines: StackColumns): FoldedReadStats {
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
    return readFoldedSync(file, lines);
  } finally {
    file.close();
  }
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
    let invalid = 0;
    let firstInvalid = "";
    for (const file of files) {
      const stdin = file === "-";
      const stats = stdin
        ? await readFoldedInto(await openInput(file), lines)
        : readFile(file, lines);
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
    writeTextOutput(output, result.svg);
    return 0;
  },
};
