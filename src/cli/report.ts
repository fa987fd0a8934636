/**
 * `flame report [PERF_DATA]`: an existing perf recording (default perf.data) to an SVG, with the
 * same fast `perf script` pass, frame tidying and diagnosis as `flame run`.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { UsageError } from "../errors.ts";
import { applyQuiet, profileOptions, profileOptionsHelp, profileSettings } from "./profile.ts";
import { deliverCapture } from "./capture_output.ts";
import { capture } from "../capture/mod.ts";

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
  return await deliverCapture(await capture({ kind: "report", data }, settings.capture), settings);
}
