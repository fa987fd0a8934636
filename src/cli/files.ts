/**
 * `flame files DIR...`: where did the disk go. Walks the directories like `du` does (same
 * totals) and draws each directory as a frame as wide as everything in it, or prints the folded
 * lines (`dir;sub;file BYTES`) with `--folded`.
 */
import type { Command } from "./command.ts";
import { flagValue, parseCommandArgs, stringValue } from "./args.ts";
import { RENDER_OPTIONS, RENDER_OPTIONS_HELP, renderOptionsFrom } from "./render_options.ts";
import { describeFileError, FlameError, UsageError } from "../errors.ts";
import { info, Progress, warn } from "../log.ts";
import { writeTextOutput } from "../io/output.ts";
import { isolate, renderFoldedStacks, type RenderOptions } from "../render/mod.ts";
import { minWidthUnits, NOMINAL_WIDTH, XPAD } from "../render/layout.ts";
import { type Measure, walk, type WalkOptions, type WalkStats } from "../files/walk.ts";
import { FoldedLineSink, TreeSink } from "../files/sinks.ts";
import { withByteOutput } from "../io/output.ts";
import { formatBytes, groupDigits, plural } from "../format.ts";
import { emptyProfile } from "../profile/profile.ts";
import { FORMAT_NAMES, writeProfile, writerForOutput } from "../formats/registry.ts";
import { quoteName } from "../terminal.ts";

const OPTIONS = {
  ...RENDER_OPTIONS,
  output: { type: "string", short: "o" },
  format: { type: "string", short: "f" },
  folded: { type: "boolean" },
  "disk-usage": { type: "boolean" },
  count: { type: "boolean" },
  "one-file-system": { type: "boolean", short: "x" },
} as const;

const HELP = `Usage: flame files [OPTIONS] DIR...

Draws where the disk space under each DIR goes: every directory is a frame as wide as
everything in it, every file a frame as wide as its size. Totals equal 'du -sb DIR':
apparent sizes (lstat), directories' own sizes included, symbolic links not followed (their
own size counts), a file with several hard links counted once (across all DIRs), FIFOs,
sockets and devices counted by their own size.

Options:
  -o, --output FILE       write to FILE (default files.svg, or stdout with --folded);
                          its extension picks the format (.folded, .speedscope.json, .pb.gz,
                          .txt, .json), else an SVG
  -f, --format FORMAT     ${FORMAT_NAMES.join("|")}
      --folded            print folded lines ('dir;sub;file BYTES', one per entry,
                          directories with their own size, in walk order) instead of an SVG
      --disk-usage        count allocated blocks instead (sparse files small, like
                          'du -s --block-size=1')
      --count             count entries (files, directories, links) instead of bytes,
                          like 'du -s --inodes'
  -x, --one-file-system   leave out directories on other file systems (like 'du -x')
  -h, --help              show this help

Names are shown as written (spaces, non-ASCII, <, &, quotes). The folded format separates
frames with ';' and lines with newlines, so inside a name ';' is written as ';' (U+037E,
which looks the same), control characters as their symbols (a newline as '␊', U+240A; DEL
as '␡'), and each byte that is not valid UTF-8 as '\\xNN'. A real backslash is written '\\\\',
and a real U+037E or control symbol gets a '\\' before it, so every name can be recovered
byte for byte. (Without --allow-ffi, or off Linux/glibc, the walk uses Deno's API, which
cannot open names that are not valid UTF-8: those are counted as skipped. The environment
variable FLAME_FILES_WALK=portable asks for that walk.)

Unreadable directories (their own size still counts), entries that vanish during the walk
and directory loops are skipped and summed up in one line at the end. Progress is shown on
a terminal. On trees of more than 65,536 entries, entries far too narrow to draw are
grouped into one '(N small entries)' frame per directory, so memory stays bounded; the
folded output always has every entry.

${RENDER_OPTIONS_HELP}

Examples:
  flame files ~                          where did my disk go: files.svg
  flame files -x / -o root.svg           the root file system only
  flame files --disk-usage /var/lib      allocated space (sparse files count little)
  flame files --count /usr               which directories hold the most files
  flame files --folded /srv > srv.folded && flame svg --countname bytes srv.folded`;

/** The `flame files` subcommand. */
export const filesCommand: Command = {
  name: "files",
  help: HELP,
  run,
};

/** Entries folded away when the tree grows large are 10x narrower than the narrowest drawn. */
const FOLD_MARGIN = 10;

/** The walk is synchronous; writing the SVG is not (a signal can stop it). */
async function run(argv: string[]): Promise<number> {
  const { values, positionals: dirs } = parseCommandArgs("files", argv, OPTIONS);
  if (dirs.length === 0) {
    throw new UsageError("files: give at least one directory", "e.g. 'flame files ~'");
  }
  const measure = measureFrom(values);
  checkRoots(dirs);
  const progress = new Progress();
  const options: WalkOptions = {
    method: walkMethod(),
    measure,
    oneFileSystem: flagValue(values, "one-file-system"),
    onProgress: progress.enabled
      ? (entries, total) => progress.update(`walking: ${progressText(measure, entries, total)}`)
      : undefined,
  };
  const output = stringValue(values, "output");
  const format = flagValue(values, "folded") ? "folded" : stringValue(values, "format");
  const writer = writerForOutput(format, output);
  let stats: WalkStats;
  try {
    if (writer.name === "folded") {
      stats = writeFolded(dirs, options, output);
    } else if (writer.name === "svg") {
      stats = await writeSvg(dirs, options, values, output ?? "files.svg");
    } else {
      stats = await writeOther(dirs, options, values, output ?? `files${writer.extensions[0]}`);
    }
  } finally {
    progress.done();
  }
  reportSkips(stats);
  return 0;

  /** Any other format: the walked tree (tiny entries grouped, as drawn) as a profile. */
  async function writeOther(
    dirs: string[],
    options: WalkOptions,
    values: Record<string, unknown>,
    output: string,
  ): Promise<WalkStats> {
    const sink = new TreeSink(minFraction(renderOptionsFrom("files", values)) / FOLD_MARGIN);
    const stats = walk(dirs, sink, options);
    const measure = options.measure ?? "bytes";
    const profile = emptyProfile(measure === "count" ? "count" : "bytes", {
      name: titleFor(measure, dirs),
      producer: "flame files",
    });
    profile.stacks = sink.stacks();
    for (const w of await writeProfile(output, profile, writer)) warn(w);
    if (output !== "-") {
      info(`wrote ${quoteName(output)}: ${progressText(measure, stats.entries, stats.total)}`);
    }
    return stats;
  }
}

/** FLAME_FILES_WALK=portable forces the walk through Deno's API (to compare, or as a way out). */
function walkMethod(): WalkOptions["method"] {
  return Deno.env.get("FLAME_FILES_WALK") === "portable" ? "portable" : undefined;
}

/** Which value an entry has, from --disk-usage and --count. */
function measureFrom(values: Record<string, unknown>): Measure {
  const v = values as Parameters<typeof flagValue>[0];
  const blocks = flagValue(v, "disk-usage");
  const count = flagValue(v, "count");
  if (blocks && count) {
    throw new UsageError("files: --disk-usage and --count are different units; pick one");
  }
  return blocks ? "blocks" : count ? "count" : "bytes";
}

/** Fails with one line for the first DIR that does not exist (before any output). */
function checkRoots(dirs: string[]): void {
  for (const dir of dirs) {
    try {
      Deno.lstatSync(dir);
    } catch (err) {
      throw describeFileError(quoteName(dir), err);
    }
  }
}

function writeFolded(
  dirs: string[],
  options: WalkOptions,
  output: string | undefined,
): WalkStats {
  return withByteOutput(output, (out) => {
    const sink = new FoldedLineSink(out);
    const stats = walk(dirs, sink, options);
    sink.flush();
    return stats;
  });
}

async function writeSvg(
  dirs: string[],
  options: WalkOptions,
  values: Record<string, unknown>,
  output: string,
): Promise<WalkStats> {
  const user = renderOptionsFrom("files", values);
  const sink = new TreeSink(minFraction(user) / FOLD_MARGIN);
  const stats = walk(dirs, sink, options);
  const measure = options.measure ?? "bytes";
  if (stats.total === 0) {
    throw new FlameError(
      `nothing to draw: ${progressText(measure, stats.entries, 0)}`,
      1,
      measure === "count" ? undefined : "--count draws the number of entries instead",
    );
  }
  const render: Partial<RenderOptions> = {
    title: titleFor(measure, dirs),
    subtitle: subtitleFor(measure, stats),
    countName: measure === "count" ? "entries" : "bytes",
    units: measure === "count" ? "count" : "bytes",
    nameType: "Name:",
    ...user,
  };
  const result = renderFoldedStacks(sink.stacks(), render);
  for (const w of result.warnings) warn(w);
  await writeTextOutput(output, result.svg);
  if (output !== "-") {
    info(`wrote ${quoteName(output)}: ${progressText(measure, stats.entries, stats.total)}`);
  }
  return stats;
}

/** The smallest fraction of the total the renderer draws, from --minwidth and --width. */
export function minFraction(options: Partial<RenderOptions>): number {
  return minWidthUnits(options.minWidth ?? 0.1, 1, (options.width ?? NOMINAL_WIDTH) - 2 * XPAD);
}

/** The graph's heading: what is measured, and where. */
export function titleFor(measure: Measure, dirs: string[]): string {
  const what = measure === "count" ? "Entries" : measure === "blocks" ? "Disk usage" : "Sizes";
  return `${what}: ${dirs.map(isolate).join(", ")}`;
}

function subtitleFor(measure: Measure, stats: WalkStats): string {
  const how = measure === "count"
    ? "entries, like du --inodes"
    : measure === "blocks"
    ? "allocated blocks, like du --block-size=1"
    : "apparent sizes, like du -b";
  return `${progressText(measure, stats.entries, stats.total)} (${how})`;
}

function progressText(measure: Measure, entries: number, total: number): string {
  const what = plural(entries, "entry", "entries");
  if (measure === "count") return what;
  const exact = total < 1024 ? "" : ` (${groupDigits(total)} bytes)`;
  return `${formatBytes(total)}${exact} in ${what}`;
}

/** One line for everything the walk had to leave out. */
function reportSkips(stats: WalkStats): void {
  if (stats.otherFileSystems > 0) {
    info(
      `left out ${plural(stats.otherFileSystems, "directory", "directories")} on other ` +
        `file systems (-x)`,
    );
  }
  let skipped = 0;
  for (const t of stats.skipped.values()) skipped += t.count;
  if (skipped === 0) return;
  const parts = [...stats.skipped].map(([reason, t]) =>
    `${groupDigits(t.count)} ${reason} (${t.count === 1 ? "" : "first: "}${quoteName(t.example)})`
  );
  warn(`skipped ${plural(skipped, "entry", "entries")}: ${parts.join(", ")}`);
}
