/**
 * `flame report [PERF_DATA]`: an existing perf recording (default perf.data) to an SVG, with the
 * same fast `perf script` pass, frame tidying and diagnosis as `flame run`.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { FlameError, UsageError } from "../errors.ts";
import {
  applyQuiet,
  commandEcho,
  profileOptions,
  profileOptionsHelp,
  profileSettings,
  recordingState,
  requirePerf,
} from "./profile.ts";
import { finishRecording } from "./recording.ts";
import { readHeader } from "../capture/session.ts";

const HELP = `Usage: flame report [OPTIONS] [PERF_DATA]

An existing perf recording to a flame graph.

Reads PERF_DATA (default: perf.data) with 'perf script' (only the fields needed, no inline
expansion unless --inline, several processes in parallel on big recordings), folds it,
names Python and JavaScript frames readably, and writes flame.svg.

${profileOptionsHelp(false)}

Examples:
  flame report
  flame report app.data -o app.svg --title "app, 30 s"
  perf record --call-graph dwarf -- ./prog && flame report --folded prog.folded`;

/** The `flame report` subcommand. */
export const reportCommand: Command = {
  name: "report",
  help: HELP,
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("report", argv, profileOptions(false));
  if (positionals.length > 1) {
    throw new UsageError(
      `report: one recording at a time, got ${positionals.length}`,
      "run 'flame report --help' for the usage",
    );
  }
  const settings = profileSettings("report", values);
  applyQuiet(settings);
  const data = positionals[0] ?? "perf.data";
  checkRecording(data, positionals[0] === undefined);
  const perf = requirePerf();
  return await finishRecording({
    perf,
    data,
    seconds: 0,
    // Read beside perf script: only the diagnosis (and time slices) need it.
    header: readHeader(perf, data, commandEcho(settings.verbose)),
    diagnose: { kinds: [] },
    palette: "hot",
    paletteByContent: true,
    title: `flame report: ${data}`,
    subtitle: "",
    cleanRuntimeFiles: false,
    artifactDirs: [],
  }, settings);
}

/** Throws unless `data` is a perf recording perf finished writing. */
function checkRecording(data: string, defaulted: boolean): void {
  let isFile: boolean;
  try {
    isFile = Deno.statSync(data).isFile;
  } catch {
    throw new FlameError(
      `${data}: no such file`,
      1,
      defaulted
        ? "record one first: flame run --keep-data perf.data -- CMD " +
          "(or perf record --call-graph dwarf)"
        : "check the path",
    );
  }
  if (!isFile) throw new FlameError(`${data}: not a file`);
  switch (recordingState(data)) {
    case "not-perf":
      throw new FlameError(
        `${data}: not a perf recording`,
        1,
        "flame report reads perf.data files; for perf script text or folded stacks: " +
          "flame collapse FILE | flame svg -o flame.svg",
      );
    case "unfinished":
      throw new FlameError(
        `${data}: perf did not finish writing this recording (was it killed?)`,
        1,
        "record it again, and stop perf record with Ctrl-C rather than kill -9",
      );
  }
}
