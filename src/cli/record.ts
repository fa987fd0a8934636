/**
 * `flame record -p PID[,PID...] [--duration S]` (or `-a`): attaches perf to running processes,
 * all their threads, until the duration ends, Ctrl-C, or the processes exit; then draws the
 * graph. The processes keep running.
 */
import type { Command } from "./command.ts";
import { flagValue, numberOption, parseCommandArgs, stringValue, stringValues } from "./args.ts";
import { FlameError, UsageError } from "../errors.ts";
import { info, warn } from "../log.ts";
import {
  applyQuiet,
  commandEcho,
  commandLabel,
  ensureRecorded,
  noPositionals,
  profileOptions,
  profileOptionsHelp,
  type ProfileSettings,
  profileSettings,
  recordSpec,
  requirePerf,
  withCapture,
} from "./profile.ts";
import { finishRecording, recordedBy } from "./recording.ts";
import { runDtrace } from "./run_dtrace.ts";
import type { Palette } from "../render/mod.ts";
import {
  attachCallGraph,
  attachSetup,
  paletteFor,
  type ProcessInfo,
  readProcess,
} from "../capture/runtime.ts";
import { recordArgv } from "../capture/perf.ts";
import { type CommandEcho, runCaptured, runRecord } from "../capture/session.ts";
import { exists, removeTree } from "../capture/cleanup.ts";
import { noSuchProcess } from "../capture/permissions.ts";

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
  const missing = pids.filter((pid) => !exists(`/proc/${pid}`));
  if (Deno.build.os === "linux" && missing.length > 0) throw noSuchProcess(missing);
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
  const perf = requirePerf();
  const procs = pids.map((pid) => readProcess(pid) ?? throwNoSuchProcess(pid));
  const setups = procs.map(attachSetup);
  for (const note of setups.flatMap((s) => s.notes)) warn(note);
  const kinds = setups.map((s) => s.kind);
  const names = procs.map(processLabel);
  // A Python started with perf_jit writes a jitdump: perf inject needs monotonic timestamps.
  const jitdump = setups.some((s) => s.jitdump);
  const stopping = "stopping the recording: the graph is still written";
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const spec = recordSpec(perf, settings, tempDir, {
      callGraph: all ? { mode: "fp" } : attachCallGraph(kinds),
      monotonicClock: jitdump,
      target: all ? { allCpus: true, duration } : { pids, duration },
    });
    info(
      `recording ${all ? "the whole system" : processesPhrase(names)}` +
        (duration !== undefined ? ` for ${duration} s` : ": press Ctrl-C to stop"),
    );
    const mapsBefore = new Set(pids.filter((p) => exists(`/tmp/perf-${p}.map`)));
    const started = Date.now();
    const echo = commandEcho(settings.verbose);
    const recorded = await runRecord(recordArgv(spec), {}, interrupts, echo, true);
    await ensureRecorded(
      spec,
      { ...spec.target, duration: 0.01 },
      { mode: all ? "all-cpus" : "pids", pids },
      new FlameError(
        "perf record wrote no data",
        1,
        "did the process exit? add --verbose to see perf's command",
      ),
      recorded.stderr,
    );
    // The JVM writes its perf map on request; perf script reads it afterwards.
    const madeMaps: number[] = [];
    for (let i = 0; i < pids.length; i++) {
      if (setups[i].javaPerfMap && await javaPerfMap(pids[i], echo)) {
        if (!mapsBefore.has(pids[i])) madeMaps.push(pids[i]);
      }
    }
    return await finishRecording({
      ...recordedBy(spec, started),
      jitdumps: jitdump,
      seconds: recorded.seconds,
      diagnose: {
        kinds,
        pythonJitAttach: jitdump,
        // The attach notes said what a Python lacks already.
        pythonNoted: setups.some((s) => s.kind === "python" && s.notes.length > 0),
      },
      palette: paletteFor(kinds) as Palette,
      dropIdle: all,
      title: `flame record: ${all ? "all CPUs" : names.join(", ")}`,
      // The processes are still running and own their maps and dumps.
      cleanRuntimeFiles: false,
      tempDir,
      interrupts,
      afterRead: () => madeMaps.forEach((pid) => removeTree(`/tmp/perf-${pid}.map`)),
    }, settings);
  });
}

function throwNoSuchProcess(pid: number): never {
  throw noSuchProcess([pid]);
}

/**
 * `1234 (python3 -c 'import time def f(): …')`: a process for titles and messages, on one
 * line. The PID names it; the program's name without its directory leaves room for arguments.
 */
export function processLabel(proc: Pick<ProcessInfo, "pid" | "cmdline">): string {
  if (proc.cmdline.length === 0) return String(proc.pid); // a kernel thread
  const [program, ...args] = proc.cmdline;
  const name = program.slice(program.lastIndexOf("/") + 1);
  return `${proc.pid} (${commandLabel([name, ...args])})`;
}

/** `process A`, `processes A and B`, `processes A, B and C`. */
export function processesPhrase(labels: string[]): string {
  if (labels.length === 1) return `process ${labels[0]}`;
  return `processes ${labels.slice(0, -1).join(", ")} and ${labels[labels.length - 1]}`;
}

/** Asks a JVM for its perf map (`jcmd PID Compiler.perfmap`); false when that failed. */
async function javaPerfMap(
  pid: number,
  echo: CommandEcho | undefined,
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
