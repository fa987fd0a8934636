/**
 * `flame run -- CMD [ARGS...]`: records CMD with perf (set up for its runtime), folds and draws
 * the recording, and writes flame.svg. The program keeps the terminal; Ctrl-C stops it and the
 * graph is still written; its exit status becomes flame's.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { FlameError, UsageError } from "../errors.ts";
import { info, warn } from "../log.ts";
import {
  applyQuiet,
  commandEcho,
  commandLabel,
  ensureRecorded,
  profileOptions,
  profileOptionsHelp,
  type ProfileSettings,
  profileSettings,
  recordSpec,
  requirePerf,
  withCapture,
} from "./profile.ts";
import { finishRecording, recordedBy } from "./recording.ts";
import type { Palette } from "../render/mod.ts";
import {
  detectTarget,
  isExecutableFile,
  realProbe,
  setupRuntime,
  type Target,
} from "../capture/runtime.ts";
import { recordArgv } from "../capture/perf.ts";
import { runRecord } from "../capture/session.ts";
import { programEnding } from "../capture/signals.ts";
import { recentJitdumps, runtimeFileDirs } from "../capture/cleanup.ts";
import { runDtrace } from "./run_dtrace.ts";

const HELP = `Usage: flame run [OPTIONS] -- CMD [ARGS...]

Profile a program and write its flame graph.

Runs CMD under 'perf record', set up for what it is: Python 3.12+ gets its perf support
(3.13+: whole Python stacks, via perf inject --jit), Node and Deno their perf maps, Java
frame pointers and a perf map; native code is unwound with DWARF. Then writes flame.svg and
one summary line. The program keeps the terminal. Ctrl-C stops it and the graph of what was
recorded is still written (a second Ctrl-C aborts at once). When it fails, the graph is still
written, and flame exits with the program's status.

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
  if (Deno.build.os === "darwin") return await runDtrace(command, settings);
  return await runPerf(command, settings);
}

async function runPerf(command: string[], settings: ProfileSettings): Promise<number> {
  const perf = requirePerf();
  const target = detectTarget(command, realProbe);
  checkRunnable(command[0], target);
  const setup = setupRuntime(target, Deno.env.toObject());
  for (const note of setup.notes) warn(note);
  if (settings.verbose) { for (const note of target.notes) info(note); }
  const stopping = "stopping the program: the graph is still written";
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const spec = recordSpec(perf, settings, tempDir, {
      callGraph: setup.callGraph,
      monotonicClock: setup.monotonicClock,
      target: { command: setup.argv },
    });
    const started = Date.now();
    const echo = commandEcho(settings.verbose);
    const recorded = await runRecord(recordArgv(spec), setup.env, interrupts, echo);
    await ensureRecorded(
      spec,
      { command: ["true"] },
      { mode: "run" },
      new FlameError(
        `perf record could not run the program (exit status ${recorded.code})`,
        recorded.code === 0 ? 1 : recorded.code,
        "run it without flame to see why, or add --verbose to see perf's command",
      ),
    );
    return await finishRecording({
      ...recordedBy(spec, started),
      jitdumps: recentJitdumps(runtimeFileDirs(), started).length > 0,
      seconds: recorded.seconds,
      diagnose: { kinds: [target.kind], pythonNoted: setup.notes.length > 0 },
      palette: setup.palette as Palette,
      title: `flame run: ${commandLabel(command)}`,
      cleanRuntimeFiles: true,
      tempDir,
      interrupts,
      ending: programEnding(recorded.code, recorded.signal, interrupts.interrupted),
    }, settings);
  });
}

/** Throws, as a shell would report it, for a command that is missing or not executable. */
function checkRunnable(name: string, target: Target): void {
  if (!target.executable) {
    throw new FlameError(
      `command not found: ${name}`,
      127,
      name.includes("/")
        ? "check the path"
        : `check the spelling, or give its path (flame run -- ./${name})`,
    );
  }
  if (!isExecutableFile(target.executable)) {
    throw new FlameError(
      `${name}: permission denied (not executable)`,
      126,
      `chmod +x ${name}, or run it with its interpreter`,
    );
  }
}
