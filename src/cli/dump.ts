/**
 * `flame dump -p PID`: every thread's current Python stack, read from the running process
 * without stopping it (the tool for a program that hangs). Text for people, `--json` for
 * scripts.
 */
import type { Command } from "./command.ts";
import { flagValue, parseCommandArgs, parsePids, stringValues } from "./args.ts";
import { UsageError } from "../errors.ts";
import { dumpProcess, formatDump, type ProcessDump } from "../python/dump.ts";
import { writeTextOutput } from "../io/output.ts";

const HELP = `Usage: flame dump -p PID[,PID...] [--json] [--no-lines]

Prints every thread's Python stack in the running process PID, innermost frame last, with
each frame's file and line, the thread's id and name, and whether it is running, idle
(sleeping or waiting, e.g. for the GIL) or holds the GIL. The process is read, never stopped
or changed: use it on a program that hangs or spins.

Works with CPython 2.7 and 3.6 to 3.13 (pyenv, distribution and embedded builds). Reading
another process needs the right to trace it: the same user (where Yama allows), root, or
CAP_SYS_PTRACE.

Options:
  -p, --pid PID[,PID...]  the processes to dump (repeatable)
      --json              one JSON document: {"processes": [{pid, version, threads: [...]}]}
      --no-lines          leave out line numbers (faster on very deep stacks)
  -h, --help              show this help

Examples:
  flame dump -p 1234
  flame dump -p "$(pgrep -d, -f gunicorn)" --json > stacks.json`;

const OPTIONS = {
  pid: { type: "string", short: "p", multiple: true },
  json: { type: "boolean" },
  "no-lines": { type: "boolean" },
} as const;

/** The `flame dump` subcommand. */
export const dumpCommand: Command = {
  name: "dump",
  help: HELP,
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("dump", argv, OPTIONS);
  if (positionals.length > 0) {
    throw new UsageError(
      `dump: unexpected argument '${positionals[0]}'`,
      "give the process as -p PID",
    );
  }
  const pids = parsePids(stringValues(values, "pid"), "dump", "e.g. flame dump -p 1234");
  if (pids.length === 0) {
    throw new UsageError("dump: give a process with -p PID", "e.g. flame dump -p 1234");
  }
  const lines = !flagValue(values, "no-lines");
  const dumps: ProcessDump[] = pids.map((pid) => dumpProcess(pid, { lines }));
  const text = flagValue(values, "json")
    ? JSON.stringify({ processes: dumps }, null, 2) + "\n"
    : dumps.map(formatDump).join("\n");
  await writeTextOutput(undefined, text);
  return 0;
}
