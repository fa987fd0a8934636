/**
 * `flame diff BEFORE AFTER`: compares two folded profiles. Writes a differential flame graph
 * (widths from AFTER, red where a function's own time grew, blue where it shrank), or with
 * `--folded` the merged `stack BEFORE AFTER` lines difffolded.pl prints.
 */
import type { Command } from "./command.ts";
import { flagValue, parseCommandArgs, stringValue } from "./args.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";
import { FlameError, UsageError } from "../errors.ts";
import { warn } from "../log.ts";
import { plural } from "../format.ts";
import { type Input, openInput } from "../io/input.ts";
import { asCollapseInput, formatInputFrom } from "../formats/input.ts";
import { detectReader } from "../formats/registry.ts";
import { writeOutput, writeTextOutput } from "../io/output.ts";
import { isolate, renderSvg } from "../render/mod.ts";
import { readFolded } from "../folded/parse.ts";
import type { FoldedStacks } from "../folded/stacks.ts";
import {
  addDiffInput,
  type DiffLine,
  type DiffOptions,
  diffStacks,
  diffToFolded,
  formatDiffLine,
} from "../folded/diff.ts";

const OPTIONS = {
  ...RENDER_OPTIONS,
  output: { type: "string", short: "o" },
  folded: { type: "boolean" },
  normalize: { type: "boolean", short: "n" },
  "strip-hex": { type: "boolean", short: "s" },
} as const;

const HELP = `Usage: flame diff [OPTIONS] BEFORE AFTER

Compares two profiles (folded stacks from 'flame collapse' or any stackcollapse script, or
any other format flame reads: pprof, speedscope, perf script text, ...) and draws
a differential flame graph: frame widths are AFTER's, and each function's own time is red
where it grew and blue where it shrank (white: unchanged). Stacks found in one profile only
count 0 in the other. '-' reads one of the two from stdin.

Options:
  -o, --output FILE   write to FILE instead of stdout
      --folded        print the merged 'stack BEFORE AFTER' lines (sorted) instead of an SVG
  -n, --normalize     scale BEFORE's counts to AFTER's total first (compare shapes, not sizes)
  -s, --strip-hex     read every hex number (0x7f3a...) as 0x..., so stacks that differ
                      only in addresses match
  -h, --help          show this help

${RENDER_OPTIONS_HELP}

Examples:
  flame diff before.folded after.folded -o diff.svg
  flame diff -n before.folded after.folded > diff.svg
  flame diff --folded -s before.folded after.folded > diff.folded
  flame diff after.folded before.folded -o shrank.svg   (swap to see what went away)`;

/** The `flame diff` subcommand. */
export const diffCommand: Command = {
  name: "diff",
  help: HELP,
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("diff", argv, OPTIONS);
  const [beforePath, afterPath] = twoInputs(positionals);
  const options: DiffOptions = {
    normalize: flagValue(values, "normalize"),
    stripHex: flagValue(values, "strip-hex"),
  };
  const output = stringValue(values, "output");
  // Open both before reading either, so a mistyped AFTER fails at once.
  const before = await openInput(beforePath);
  const after = await openInput(afterPath).catch(async (err) => {
    await before.readable.cancel().catch(() => {});
    throw err;
  });
  const beforeStacks = await readProfile(before, options);
  const afterStacks = await readProfile(after, options);
  const lines = diffStacks(beforeStacks, afterStacks, options);
  if (flagValue(values, "folded")) {
    await writeOutput(output, (sink) => writeDiffLines(lines, sink));
    return 0;
  }
  const render = renderOptionsFrom("diff", values);
  // Say what is compared unless the user chose a subtitle.
  render.subtitle ??= `${isolate(before.name)} vs ${isolate(after.name)}: widths from AFTER, ` +
    (render.negate ? "blue grew, red shrank" : "red grew, blue shrank");
  const result = renderSvg(diffToFolded(lines), render);
  for (const w of result.warnings) warn(w);
  await writeTextOutput(output, result.svg);
  return 0;
}

/** Checks there are exactly two inputs, at most one of them stdin. */
function twoInputs(positionals: string[]): [string, string] {
  if (positionals.length !== 2) {
    throw new UsageError(
      positionals.length < 2
        ? "diff: wants two folded files, BEFORE and AFTER"
        : `diff: wants two folded files, got ${positionals.length}`,
      "run 'flame diff --help' for the usage",
    );
  }
  if (positionals[0] === "-" && positionals[1] === "-") {
    throw new UsageError("diff: only one of BEFORE and AFTER can be '-' (stdin)");
  }
  return [positionals[0], positionals[1]];
}

/**
 * Reads one profile: folded stacks, warning about lines it skips (an error when none is valid),
 * or any other format flame reads, told by its content.
 */
async function readProfile(opened: Input, options: DiffOptions): Promise<FoldedStacks> {
  const stacks: FoldedStacks = new Map();
  const peeked = await formatInputFrom(opened);
  const reader = detectReader(peeked.head);
  if (reader && reader.name !== "folded") {
    const { profile, warnings } = await reader.read(peeked, {});
    for (const w of warnings) warn(w);
    for (const [stack, count] of profile.stacks) addDiffInput(stacks, { stack, count }, options);
    return stacks;
  }
  const input = asCollapseInput(peeked);
  let valid = 0;
  const stats = await readFolded(input, (line) => {
    valid++;
    addDiffInput(stacks, line, options);
  });
  if (valid === 0) {
    const what = stats.invalid > 0
      ? `only ${plural(stats.invalid, "line")} of other text`
      : "it is empty";
    throw new FlameError(
      `${input.name}: no folded stacks (lines like 'main;parse;lex 42'): ${what}`,
    );
  }
  if (stats.invalid > 0) {
    warn(
      `${input.name}: ignored ${plural(stats.invalid, "line")} that ` +
        `${
          stats.invalid === 1 ? "is" : "are"
        } not folded stacks (first: line ${stats.firstInvalidLine})`,
    );
  }
  if (stats.differential) {
    warn(`${input.name}: has lines with two counts (a diff already?); their last count is used`);
  }
  return stacks;
}

async function writeDiffLines(
  lines: DiffLine[],
  sink: { write(text: string): Promise<void> },
): Promise<void> {
  let block = "";
  for (const line of lines) {
    block += formatDiffLine(line) + "\n";
    if (block.length > 1 << 16) {
      await sink.write(block);
      block = "";
    }
  }
  if (block) await sink.write(block);
}
