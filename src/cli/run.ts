/**
 * `flame run -- CMD [ARGS...]`: records CMD with perf (set up for its runtime), folds and draws
 * the recording, and writes flame.svg. The program keeps the terminal; Ctrl-C stops it and the
 * graph is still written; its exit status becomes flame's.
 */
import type { Command } from "./command.ts";
import { parseCommandArgs } from "./args.ts";
import { FlameError, UsageError } from "./errors.ts";
import { info, warn } from "./log.ts";
import {
  applyQuiet,
  commandEcho,
  foldAndRender,
  injectIfNeeded,
  keepRecording,
  openFile,
  perfBinary,
  profileOptions,
  profileOptionsHelp,
  type ProfileSettings,
  profileSettings,
  quote,
  removeTemp,
  samplingEvent,
  summaryLine,
} from "./profile.ts";
import { detectTarget, realProbe, setupRuntime } from "../capture/runtime.ts";
import { describeCallGraph, recordArgv, type RecordSpec } from "../capture/perf.ts";
import { runCaptured, runRecord } from "../capture/session.ts";
import { Interrupts, programEnding } from "../capture/signals.ts";
import { ALL_ARTIFACTS, recentJitdumps, removeArtifacts } from "../capture/cleanup.ts";
import {
  kernelRelease,
  osRelease,
  perfMissingError,
  readSysctl,
  recordFailure,
} from "../capture/permissions.ts";
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
  summary: "profile a program (perf record + collapse + render) into flame.svg",
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
  const perf = perfBinary();
  if (!realProbe.which(perf)) throw perfMissingError(perf, osRelease(), kernelRelease());
  const target = detectTarget(command, realProbe);
  if (!target.executable) {
    throw new FlameError(
      `command not found: ${command[0]}`,
      127,
      command[0].includes("/")
        ? "check the path"
        : `check the spelling, or give its path (flame run -- ./${command[0]})`,
    );
  }
  const env: Record<string, string | undefined> = Deno.env.toObject();
  const setup = setupRuntime(target, env);
  for (const note of setup.notes) warn(note);
  const echo = commandEcho(settings.verbose);
  for (const note of target.notes) if (settings.verbose) info(note);

  const tempDir = Deno.makeTempDirSync({ prefix: "flame-" });
  const raw = `${tempDir}/perf.data`;
  const spec: RecordSpec = {
    perf,
    event: samplingEvent(settings.event),
    freq: settings.freq,
    callGraph: settings.callGraph ?? setup.callGraph,
    monotonicClock: setup.monotonicClock,
    output: raw,
    target: { command: setup.argv },
    quiet: true,
  };
  const interrupts = new Interrupts(
    () => info("stopping the program: the graph is still written (Ctrl-C again to abort)"),
    () => {
      // The second Ctrl-C: perf and the program were killed; remove what they left.
      removeArtifacts(["/tmp", Deno.cwd()], new Set(interrupts.killedPids), ALL_ARTIFACTS);
      removeTemp(tempDir);
      Deno.exit(130);
    },
  ).install();
  try {
    const started = Date.now();
    const recorded = await runRecord(recordArgv(spec), setup.env, interrupts, echo);
    let dataSize = 0;
    try {
      dataSize = Deno.statSync(raw).size;
    } catch { /* perf wrote nothing */ }
    if (dataSize === 0) {
      throw await explainRecordFailure(spec, recorded.code);
    }
    const interrupted = interrupts.interrupted;
    const ending = programEnding(recorded.code, recorded.signal, interrupted);
    const dumps = recentJitdumps(["/tmp", Deno.cwd()], started);
    const data = await injectIfNeeded(
      perf,
      raw,
      tempDir,
      dumps.length > 0,
      settings,
      interrupts,
    );
    const injected = data !== raw;
    const keep = settings.keepData;
    let result;
    try {
      result = await foldAndRender({
        perf,
        data,
        seconds: recorded.seconds,
        diagnose: {
          callGraph: spec.callGraph,
          kinds: [target.kind],
          pythonNoted: setup.notes.length > 0,
        },
        palette: setup.palette as never,
        title: `flame run: ${command.map(quote).join(" ")}`,
        subtitle: `${spec.event} at ${spec.freq} Hz, ${describeCallGraph(spec.callGraph)} stacks` +
          `, ${new Date(started).toISOString().slice(0, 16).replace("T", " ")} UTC`,
        cleanRuntimeFiles: true,
        // A kept, injected recording refers to the jitted-*.so files: keep them with it.
        cleanJitted: !(keep && injected),
        artifactDirs: ["/tmp", Deno.cwd()],
        tempDir,
        interrupts,
      }, settings);
    } catch (err) {
      if (ending.warning) warn(ending.warning);
      if (err instanceof FlameError && ending.code !== 0) {
        throw new FlameError(err.message, ending.code, err.hint);
      }
      throw err;
    } finally {
      if (keep) {
        keepRecording(data, keep);
        if (injected) info(`${keep} refers to /tmp/jitted-*.so files, kept for it`);
      }
    }
    if (ending.warning) warn(ending.warning);
    info(summaryLine(result.samples, result.seconds, settings.output));
    if (settings.open) openFile(settings.output);
    return ending.code;
  } finally {
    interrupts.dispose();
    removeTemp(tempDir);
  }
}

/**
 * perf wrote no data: it failed before the program ran. `-q` kept its message quiet, so the
 * same recording is tried again on `true` with perf's output captured, to say why.
 */
async function explainRecordFailure(spec: RecordSpec, code: number): Promise<FlameError> {
  const probe = { ...spec, quiet: false, target: { command: ["true"] } };
  const tmp = `${spec.output}.probe`;
  const r = await runCaptured(recordArgv({ ...probe, output: tmp }));
  try {
    Deno.removeSync(tmp);
  } catch { /* not written */ }
  if (!r.success) {
    return recordFailure(r.stderr, {
      mode: "run",
      event: spec.event,
      euid: Deno.uid() ?? 0,
      paranoid: readSysctl("kernel.perf_event_paranoid"),
    });
  }
  return new FlameError(
    `perf record did not run the program (exit status ${code})`,
    code === 0 ? 1 : code,
    "is it executable? run it without flame to check, or add --verbose",
  );
}
