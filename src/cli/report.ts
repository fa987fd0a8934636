/**
 * `flame report [PERF_DATA]`: an existing perf recording (default perf.data) to an SVG, with the
 * same fast `perf script` pass, frame tidying and diagnosis as `flame run`.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { FlameError, UsageError } from "./errors.ts";
import { info } from "./log.ts";
import {
  applyQuiet,
  commandEcho,
  foldAndRender,
  openFile,
  perfBinary,
  profileOptions,
  profileOptionsHelp,
  profileSettings,
  summaryLine,
} from "./profile.ts";
import { realProbe } from "../capture/runtime.ts";
import { readHeader } from "../capture/session.ts";
import { kernelRelease, osRelease, perfMissingError } from "../capture/permissions.ts";

const HELP = `Usage: flame report [OPTIONS] [PERF_DATA]

An existing perf recording to a flame graph.

Reads PERF_DATA (default: perf.data) with 'perf script' (only the fields needed, no inline
expansion unless --inline, several processes in parallel on big recordings), folds it,
names Python and JavaScript frames readably, and writes flame.svg.

${profileOptionsHelp(false)}

Examples:
  flame report
  flame report app.data -o app.svg --title "app, 30 s"
  perf record -g -- ./prog && flame report --folded prog.folded`;

/** The `flame report` subcommand. */
export const reportCommand: Command = {
  name: "report",
  summary: "an existing perf.data recording to a flame graph",
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
  try {
    if (!Deno.statSync(data).isFile) throw new FlameError(`${data}: not a file`);
  } catch (err) {
    if (err instanceof FlameError) throw err;
    throw new FlameError(
      `${data}: no such file`,
      1,
      positionals[0] === undefined
        ? "record one first: flame run --keep-data perf.data -- CMD (or perf record -g)"
        : "check the path",
    );
  }
  const perf = perfBinary();
  if (!realProbe.which(perf)) throw perfMissingError(perf, osRelease(), kernelRelease());
  // Read beside perf script: only the diagnosis (and time slices) need it.
  const header = readHeader(perf, data, commandEcho(settings.verbose));
  const result = await foldAndRender({
    perf,
    data,
    seconds: 0,
    header,
    diagnose: { kinds: [] },
    palette: "hot",
    paletteByContent: true,
    title: `flame report: ${data}`,
    subtitle: "",
    cleanRuntimeFiles: false,
    cleanJitted: false,
    artifactDirs: [],
  }, settings);
  if ((await header)?.callchains === false) {
    info(`${data} was recorded without call graphs: each stack is one frame (record with -g)`);
  }
  info(summaryLine(result.samples, result.seconds, settings.output));
  if (settings.open) openFile(settings.output);
  return 0;
}
