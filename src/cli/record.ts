/**
 * `flame record -p PID[,PID...] [--duration S]` (or `-a`): attaches perf to running processes,
 * all their threads, until the duration ends, Ctrl-C, or the processes exit; then draws the
 * graph. The processes keep running.
 */
import type { Command } from "./command.ts";
import {
  flagValue,
  numberOption,
  parseCommandArgs,
  parsePids,
  stringValue,
  stringValues,
} from "./args.ts";
import { UsageError } from "../errors.ts";
import {
  applyQuiet,
  noPositionals,
  profileOptions,
  profileOptionsHelp,
  profileSettings,
} from "./profile.ts";
import { deliverCapture } from "./capture_output.ts";
import { capture, type CaptureTarget } from "../capture/mod.ts";

const HELP = `Usage: flame record -p PID[,PID...] [--duration SECONDS] [OPTIONS]
       flame record -a [--duration SECONDS] [OPTIONS]

Profile running processes, or the whole system.

Attaches perf to the processes (all their threads, also ones started later) until the
duration ends, you press Ctrl-C, or they exit; then writes flame.svg. The processes keep
running. Python processes (CPython 2.7, 3.6-3.13, started normally) have their stacks read from
the interpreter's memory beside perf and spliced in; Java processes get their perf map through
'jcmd PID Compiler.perfmap'.

Target:
  -p, --pid PID[,PID...]  the processes to record (repeatable)
  -a, --all-cpus          the whole system, every process (root)
  -d, --duration SECONDS  stop after this long (default: at Ctrl-C or when they exit)

${profileOptionsHelp(true)}

Examples:
  flame record -p 1234 --duration 10
  flame record -p "$(pgrep -d, -f gunicorn)" -d 30 -o server.svg
  sudo flame record -a -d 5 --kernel --by-pid`;

/** The `flame record` subcommand. */
export const recordCommand: Command = {
  name: "record",
  help: HELP,
  run,
};

async function run(argv: string[]): Promise<number> {
  const options = {
    ...profileOptions(true),
    pid: { type: "string", short: "p", multiple: true },
    "all-cpus": { type: "boolean", short: "a" },
    duration: { type: "string", short: "d" },
  } as const;
  const { values, positionals } = parseCommandArgs("record", argv, options);
  noPositionals("record", positionals);
  const pids = parsePids(
    stringValues(values, "pid"),
    "record",
    "e.g. flame record -p 1234 or -p 1234,5678 (pgrep NAME finds them)",
  );
  const all = flagValue(values, "all-cpus");
  const duration = numberOption("record", "duration", stringValue(values, "duration"), {
    min: 0.001,
  });
  if (pids.length === 0 && !all) {
    throw new UsageError(
      "record: what to record? give -p PID or -a",
      "to profile a new program: flame run -- CMD",
    );
  }
  if (pids.length > 0 && all) {
    throw new UsageError("record: -p and -a exclude each other", "give one of them");
  }
  const settings = profileSettings("record", values);
  applyQuiet(settings);
  const target: CaptureTarget = all
    ? { kind: "system", duration }
    : { kind: "attach", pids, duration };
  return await deliverCapture(await capture(target, settings.capture), settings);
}
