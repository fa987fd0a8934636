/**
 * `flame record -p PID[,PID...] [--duration S]` (or `-a`): attaches perf to running processes,
 * all their threads, until the duration ends, Ctrl-C, or the processes exit; then draws the
 * graph. The processes keep running.
 */
import type { Command } from "./command.ts";
import { flagValue, numberOption, parseCommandArgs, stringValue, stringValues } from "./args.ts";
import { FlameError, UsageError } from "./errors.ts";
import { info, warn } from "./log.ts";
import {
  applyQuiet,
  commandEcho,
  foldAndRender,
  injectIfNeeded,
  keepRecording,
  noPositionals,
  openFile,
  perfBinary,
  profileOptions,
  profileOptionsHelp,
  type ProfileSettings,
  profileSettings,
  removeTemp,
  samplingEvent,
  summaryLine,
} from "./profile.ts";
import { runDtrace } from "./run_dtrace.ts";
import {
  attachCallGraph,
  type AttachSetup,
  attachSetup,
  paletteFor,
  readProcess,
  realProbe,
  type RuntimeKind,
} from "../capture/runtime.ts";
import { describeCallGraph, recordArgv, type RecordSpec } from "../capture/perf.ts";
import { runCaptured, runRecord } from "../capture/session.ts";
import { Interrupts } from "../capture/signals.ts";
import {
  kernelRelease,
  osRelease,
  perfMissingError,
  readSysctl,
  recordFailure,
} from "../capture/permissions.ts";

const HELP = `Usage: flame record -p PID[,PID...] [--duration SECONDS] [OPTIONS]
       flame record -a [--duration SECONDS] [OPTIONS]

Profile running processes, or the whole system.

Attaches perf to the processes (all their threads, also ones started later) until the
duration ends, you press Ctrl-C, or they exit; then writes flame.svg. The processes keep
running. Java processes get their perf map through 'jcmd PID Compiler.perfmap'.

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
  summary: "attach to running processes (-p PID) or the whole system (-a) for a flame graph",
  help: HELP,
  run,
};

/** Parses `-p 12,34 -p 56` into PIDs; throws a usage error for anything else. */
export function parsePids(values: string[]): number[] {
  const pids: number[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const p = part.trim();
      if (p === "") continue;
      if (!/^\d+$/.test(p) || Number(p) === 0) {
        throw new UsageError(
          `record: --pid wants process IDs, got '${v}'`,
          "e.g. flame record -p 1234 or -p 1234,5678 (pgrep NAME finds them)",
        );
      }
      if (!pids.includes(Number(p))) pids.push(Number(p));
    }
  }
  return pids;
}

async function run(argv: string[]): Promise<number> {
  const options = {
    ...profileOptions(true),
    pid: { type: "string", short: "p", multiple: true },
    "all-cpus": { type: "boolean", short: "a" },
    duration: { type: "string", short: "d" },
  } as const;
  const { values, positionals } = parseCommandArgs("record", argv, options);
  noPositionals("record", positionals);
  const pids = parsePids(stringValues(values, "pid"));
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
  for (const pid of pids) {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      if (Deno.build.os === "linux") {
        throw new FlameError(`no such process: ${pid}`, 1, "check the PID (ps -e, pgrep NAME)");
      }
    }
  }
  if (Deno.build.os === "darwin") {
    if (all) throw new UsageError("record: -a needs Linux perf", "give -p PID");
    return await runDtrace(pids, settings, duration);
  }
  return await attach(pids, all, duration, settings);
}

async function attach(
  pids: number[],
  all: boolean,
  duration: number | undefined,
  settings: ProfileSettings,
): Promise<number> {
  const perf = perfBinary();
  if (!realProbe.which(perf)) throw perfMissingError(perf, osRelease(), kernelRelease());
  const setups: AttachSetup[] = [];
  const names: string[] = [];
  for (const pid of pids) {
    const proc = readProcess(pid);
    if (!proc) throw new FlameError(`no such process: ${pid}`, 1, "check the PID");
    const setup = attachSetup(proc);
    setups.push(setup);
    names.push(`${pid} (${proc.cmdline.slice(0, 3).join(" ")})`);
    for (const note of setup.notes) warn(note);
  }
  const kinds: RuntimeKind[] = setups.map((s) => s.kind);
  const echo = commandEcho(settings.verbose);
  const tempDir = Deno.makeTempDirSync({ prefix: "flame-" });
  const raw = `${tempDir}/perf.data`;
  const spec: RecordSpec = {
    perf,
    event: samplingEvent(settings.event),
    freq: settings.freq,
    callGraph: settings.callGraph ?? (all ? { mode: "fp" } : attachCallGraph(kinds)),
    monotonicClock: setups.some((s) => s.jitdump),
    output: raw,
    target: all ? { allCpus: true, duration } : { pids, duration },
    quiet: true,
  };
  const interrupts = new Interrupts(
    () => info("stopping: the graph is still written (Ctrl-C again to abort)"),
    () => {
      removeTemp(tempDir);
      Deno.exit(130);
    },
  ).install();
  const what = all ? "the whole system" : `process ${names.join(", ")}`;
  info(
    `recording ${what}` +
      (duration !== undefined ? ` for ${duration} s` : ": press Ctrl-C to stop"),
  );
  const mapsBefore = new Set(pids.filter((p) => exists(`/tmp/perf-${p}.map`)));
  try {
    const recorded = await runRecord(recordArgv(spec), {}, interrupts, echo, true);
    let size = 0;
    try {
      size = Deno.statSync(raw).size;
    } catch { /* nothing written */ }
    if (size === 0) {
      let stderr = recorded.stderr ?? "";
      if (stderr.trim() === "") {
        // -q kept perf quiet: ask again, briefly and not quietly, to hear why.
        const r = await runCaptured(
          recordArgv({ ...spec, quiet: false, output: `${raw}.probe`, target: probeTarget(spec) }),
        );
        stderr = r.stderr;
      }
      throw recordFailure(stderr, {
        mode: all ? "all-cpus" : "pids",
        pids,
        event: spec.event,
        euid: Deno.uid() ?? 0,
        paranoid: readSysctl("kernel.perf_event_paranoid"),
      });
    }
    // The JVM writes its perf map on request; perf script reads it afterwards.
    const madeMaps: number[] = [];
    for (let i = 0; i < pids.length; i++) {
      if (setups[i].javaPerfMap && await javaPerfMap(pids[i], echo)) {
        if (!mapsBefore.has(pids[i])) madeMaps.push(pids[i]);
      }
    }
    const data = await injectIfNeeded(
      perf,
      raw,
      tempDir,
      setups.some((s) => s.jitdump),
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
          kinds,
          pythonJitAttach: setups.some((s) => s.jitdump),
        },
        palette: paletteFor(kinds) as never,
        dropIdle: all,
        title: all ? "flame record: all CPUs" : `flame record: ${names.join(", ")}`,
        subtitle: `${spec.event} at ${spec.freq} Hz, ${describeCallGraph(spec.callGraph)} stacks`,
        // The processes are still running and own their maps and dumps.
        cleanRuntimeFiles: false,
        cleanJitted: !(keep && injected),
        artifactDirs: ["/tmp", Deno.cwd()],
        tempDir,
        interrupts,
      }, settings);
    } finally {
      for (const pid of madeMaps) {
        try {
          Deno.removeSync(`/tmp/perf-${pid}.map`);
        } catch { /* gone */ }
      }
      if (keep) keepRecording(data, keep);
    }
    info(summaryLine(result.samples, result.seconds, settings.output));
    if (settings.open) openFile(settings.output);
    return 0;
  } finally {
    interrupts.dispose();
    removeTemp(tempDir);
  }
}

/** A quick re-run of the same attach, to hear why perf refused. */
function probeTarget(spec: RecordSpec): RecordSpec["target"] {
  const t = spec.target;
  if ("pids" in t) return { pids: t.pids, duration: 0.01 };
  return { allCpus: true, duration: 0.01 };
}

/** Asks a JVM for its perf map (`jcmd PID Compiler.perfmap`); false when that failed. */
async function javaPerfMap(
  pid: number,
  echo: ReturnType<typeof commandEcho>,
): Promise<boolean> {
  let jcmd = "jcmd";
  try {
    const exe = Deno.realPathSync(`/proc/${pid}/exe`);
    const sibling = exe.replace(/\/java$/, "/jcmd");
    if (sibling !== exe && exists(sibling)) jcmd = sibling;
  } catch { /* exited */ }
  try {
    const r = await runCaptured([jcmd, String(pid), "Compiler.perfmap"], echo);
    if (!r.success) {
      warn(`jcmd ${pid} Compiler.perfmap failed: Java frames stay unnamed`);
      return false;
    }
    return true;
  } catch {
    warn("jcmd is not installed (it comes with the JDK): Java frames stay unnamed");
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
