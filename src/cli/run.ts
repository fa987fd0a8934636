/**
 * `flame run -- CMD [ARGS...]`: records CMD with perf (set up for its runtime), folds and draws
 * the recording, and writes flame.svg. The program keeps the terminal; Ctrl-C stops it and the
 * graph is still written; its exit status becomes flame's.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { UsageError } from "../errors.ts";
import { applyQuiet, profileOptions, profileOptionsHelp, profileSettings } from "./profile.ts";
import { deliverCapture } from "./capture_output.ts";
import { capture } from "../capture/mod.ts";

const HELP = `Usage: flame run [OPTIONS] -- CMD [ARGS...]

Profile a program and write its flame graph.

Runs CMD under 'perf record', set up for what it is: Python (CPython 2.7, 3.6-3.13) has its
stacks read from the interpreter's memory beside perf and spliced into perf's native and kernel
stacks, Node and Deno get their perf maps, Java frame pointers and a perf map; native code is
unwound with DWARF. Then writes flame.svg and one summary line. The program keeps the terminal. Ctrl-C
stops it and the graph of what was recorded is still written (a second Ctrl-C aborts at once).
When it fails, the graph is still written, and flame exits with the program's status.

${profileOptionsHelp(true)}

Examples:
  flame run -- ./myprog --input data.bin
  flame run -o py.svg -- python3 script.py
  flame run -F 999 --folded out.folded -- node server.js
  flame run --call-graph fp --kernel -- make -j2
  flame run --keep-data app.data -- java -jar app.jar`;

/** The `flame run` subcommand. */
export const runCommand: Command = {
  name: "run",
  help: HELP,
  run,
};

/** The command to profile: everything after `--`, or the positionals when there is no `--`. */
export function commandOf(positionals: string[], rest: string[], hadDashDash: boolean): string[] {
  if (hadDashDash) {
    if (positionals.length > 0) {
      throw new UsageError(
        `run: unexpected argument '${positionals[0]}' before '--'`,
        "put the command after '--': flame run [OPTIONS] -- CMD [ARGS...]",
      );
    }
    return rest;
  }
  return positionals;
}

async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandArgs("run", argv, profileOptions(true), { splitAtDashDash: true });
  } catch (err) {
    // `flame run prog -x`: prog's options read as flame's. Say where the command goes.
    if (err instanceof UsageError && !argv.includes("--")) {
      throw new UsageError(err.message, "put the command after '--': flame run [OPTIONS] -- CMD");
    }
    throw err;
  }
  const { values, positionals, rest } = parsed;
  const command = commandOf(positionals, rest, argv.includes("--"));
  if (command.length === 0) {
    throw new UsageError(
      "run: no command to profile",
      "give it after '--': flame run -- ./myprog ARGS",
    );
  }
  const settings = profileSettings("run", values);
  applyQuiet(settings);
  return await deliverCapture(await capture({ kind: "run", command }, settings.capture), settings);
}
