/**
 * Recording with perf: a program started for the purpose (`flame run`), running processes
 * (`flame record -p`) or every CPU (`flame record -a`), each set up for its runtime, then read
 * into a profile (read.ts). The program keeps the terminal; Ctrl-C stops it and what was
 * recorded is still read; a perf that is killed leaves neither an orphaned program nor a lost
 * recording where its file can be repaired.
 */
import { FlameError } from "../errors.ts";
import { info, warn } from "../log.ts";
import { commandLabel, quote } from "../format.ts";
import type { CaptureOptions, CaptureResult } from "./mod.ts";
import { withCapture } from "./mod.ts";
import {
  chooseEvent,
  hasHardwarePmu,
  type PerfDataState,
  perfDataState,
  recordArgv,
  type RecordSpec,
  repairUnfinished,
} from "./perf.ts";
import {
  attachCallGraph,
  attachSetup,
  detectTarget,
  isExecutableFile,
  type ProcessInfo,
  readProcess,
  realProbe,
  setupRuntime,
  type Target,
} from "./runtime.ts";
import { type CommandEcho, type RecordOutcome, runCaptured, runRecord } from "./session.ts";
import { programEnding, signalPid } from "./signals.ts";
import { exists, recentJitdumps, removeTree, runtimeFileDirs } from "./cleanup.ts";
import {
  kernelRelease,
  noSuchProcess,
  notPermitted,
  osRelease,
  perfCommand,
  perfMissingError,
  readSysctl,
  type RecordAttempt,
  recordFailure,
} from "./permissions.ts";
import { readRecording } from "./read.ts";
import {
  prepareSampler,
  type SamplerHandle,
  type SamplingOptions,
  type SamplingResult,
  startSampler,
} from "../python/mod.ts";

/** The perf binary ($PERF or `perf`); throws with the install hint when it is missing. */
export function requirePerf(): string {
  const perf = perfCommand();
  if (!realProbe.which(perf)) throw perfMissingError(perf, osRelease(), kernelRelease());
  return perf;
}

/** The sampling event for this machine (the user's, or cycles/cpu-clock by PMU). */
function samplingEvent(userEvent: string | undefined): string {
  let devices: string[] = [];
  try {
    devices = [...Deno.readDirSync("/sys/bus/event_source/devices")].map((e) => e.name);
  } catch { /* not Linux, or no sysfs */ }
  return chooseEvent(userEvent, hasHardwarePmu(devices));
}

/** Prints commands before they run when `verbose`. */
export function commandEcho(verbose: boolean): CommandEcho | undefined {
  if (!verbose) return undefined;
  return (argv, env) => {
    const vars = env
      ? Object.entries(env).filter(([k]) => k !== "PATH").map(([k, v]) => `${k}=${quote(v)} `)
        .join("")
      : "";
    info(`$ ${vars}${argv.map(quote).join(" ")}`);
  };
}

/**
 * The `perf record` a capture runs: the options' event and rate, the call-graph mode given or
 * else `defaults.callGraph`, into `tempDir/perf.data`, perf's own chatter off.
 */
function recordSpec(
  perf: string,
  options: CaptureOptions,
  tempDir: string,
  defaults: Pick<RecordSpec, "callGraph" | "monotonicClock" | "target">,
): RecordSpec {
  return {
    perf,
    event: samplingEvent(options.event),
    freq: options.freq,
    callGraph: options.callGraph ?? defaults.callGraph,
    monotonicClock: defaults.monotonicClock,
    output: `${tempDir}/perf.data`,
    target: defaults.target,
    quiet: true,
  };
}

/** What the start of a perf.data file says (`not-perf` when it is missing or empty). */
export function recordingState(path: string): PerfDataState {
  return perfDataState(realProbe.readHead(path, 64) ?? new Uint8Array());
}

/**
 * Throws unless perf record left a file to read, with the error that says why, from perf's
 * messages. A file perf never finished (perf was killed) is repaired when it holds samples.
 * Unless perf's messages were captured (`stderr`), `-q` kept them quiet: the same recording is
 * tried again briefly on `probe` with them on. When that works, the failure was the target's
 * own: `fallback`.
 */
async function ensureRecorded(
  spec: RecordSpec,
  recorded: RecordOutcome,
  probe: RecordSpec["target"],
  attempt: Pick<RecordAttempt, "mode" | "pids">,
  fallback: FlameError,
): Promise<"ok" | "repaired"> {
  const state = recordingState(spec.output);
  if (state === "ok") return "ok";
  // perf finishes its file even when the program dies of a signal (and then dies of the same
  // signal itself): an unfinished file and a signal mean perf itself was killed.
  if (recorded.signal !== null) {
    if (state === "unfinished" && repairUnfinished(spec.output)) {
      warn(`perf was killed by ${recorded.signal}: the graph shows what it had written`);
      return "repaired";
    }
    throw new FlameError(
      `perf was killed by ${recorded.signal} before it wrote any samples: nothing to draw`,
      1,
      "stop a recording with Ctrl-C (or --duration), not kill -9",
    );
  }
  let stderr = recorded.stderr ?? "";
  if (stderr.trim() === "") {
    const output = `${spec.output}.probe`;
    const r = await runCaptured(recordArgv({ ...spec, quiet: false, output, target: probe }));
    removeTree(output);
    if (r.success) throw fallback;
    stderr = r.stderr;
  }
  throw recordFailure(stderr, {
    ...attempt,
    event: spec.event,
    euid: Deno.uid() ?? 0,
    paranoid: readSysctl("kernel.perf_event_paranoid"),
  });
}

/**
 * A program whose perf died under it (killed by a signal flame did not send) would run on,
 * orphaned: stop it, as perf would have.
 */
function stopOrphan(recorded: RecordOutcome, data: string): void {
  if (recorded.signal === null || recorded.childPid === undefined) return;
  // perf finished its file: the program ended first (perf then dies of the program's signal).
  if (recordingState(data) !== "unfinished" || !exists(`/proc/${recorded.childPid}`)) return;
  signalPid(recorded.childPid, "SIGTERM");
  info(`perf was killed by ${recorded.signal}: stopped the program (PID ${recorded.childPid})`);
}

/** `flame run`: records `command` set up for its runtime, until it ends. */
export async function runProgram(
  command: string[],
  options: CaptureOptions,
): Promise<CaptureResult> {
  const perf = requirePerf();
  const target = detectTarget(command, realProbe);
  checkRunnable(command[0], target);
  // Python's frames come from the interpreter reader, spliced into perf's stacks: CPython's
  // own perf support (trampolines, jitdumps, perf inject) is then not needed.
  const splice = target.kind === "python" && options.python.source === "auto";
  const setup = setupRuntime(target, Deno.env.toObject(), { pythonReader: splice });
  for (const note of setup.notes) warn(note);
  if (options.verbose) { for (const note of target.notes) info(note); }
  const stopping = "stopping the program: the graph is still written";
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const spec = recordSpec(perf, options, tempDir, {
      callGraph: setup.callGraph,
      monotonicClock: setup.monotonicClock,
      target: { command: setup.argv },
    });
    const started = Date.now();
    const echo = commandEcho(options.verbose);
    // The reader's worker loads while perf starts, and samples from the moment the program
    // is exec'd.
    const prepared = splice ? prepareSampler() : undefined;
    let sampler: SamplerHandle | undefined;
    const recorded = await runRecord(
      recordArgv(spec),
      setup.env,
      interrupts,
      echo,
      false,
      prepared
        ? (pid) => sampler = prepared.start(spliceSampling([pid], true, options))
        : undefined,
    );
    prepared?.discard();
    const python = await samplesOf(sampler);
    stopOrphan(recorded, spec.output);
    const state = await ensureRecorded(
      spec,
      recorded,
      { command: ["true"] },
      { mode: "run" },
      new FlameError(
        `perf record could not run the program (exit status ${recorded.code})`,
        recorded.code === 0 ? 1 : recorded.code,
        "run it without flame to see why, or add --verbose to see perf's command",
      ),
    );
    const ending = state === "repaired"
      ? { code: 1, reason: `perf was killed by ${recorded.signal}` }
      : programEnding(recorded.code, recorded.signal, interrupts.interrupted, interrupts.signal);
    return await readRecording(spec.output, options, {
      spec,
      started,
      command: "run",
      jitdumps: recentJitdumps(runtimeFileDirs(), started).length > 0,
      seconds: recorded.seconds,
      kinds: [target.kind],
      notesPrinted: setup.notes.length > 0,
      title: `flame run: ${commandLabel(command)}`,
      tempDir,
      interrupts,
      ending,
      python,
      lines: options.python.lines,
    });
  });
}

/** Throws, as a shell would report it, for a command that is missing or not executable. */
export function checkRunnable(name: string, target: Target): void {
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

/** The /proc view of each PID; throws for one that does not exist or may not be read. */
export function readProcesses(pids: number[]): ProcessInfo[] {
  const missing = pids.filter((pid) => !exists(`/proc/${pid}`));
  if (missing.length > 0) throw noSuchProcess(missing);
  return pids.map((pid) => {
    const proc = readProcess(pid);
    if (proc === undefined) throw noSuchProcess([pid]);
    if (proc.exe === undefined && !mayTrace(pid)) throw notPermitted(pid);
    return proc;
  });
}

/** True when this user may read `pid`'s memory and maps (root, or the process's owner). */
function mayTrace(pid: number): boolean {
  try {
    Deno.readTextFileSync(`/proc/${pid}/maps`);
    return true;
  } catch {
    return false;
  }
}

/** `flame record -p`: records running processes (all their threads) until `duration`. */
export async function attachProcesses(
  pids: number[],
  duration: number | undefined,
  options: CaptureOptions,
): Promise<CaptureResult> {
  const perf = requirePerf();
  const procs = readProcesses(pids);
  const setups = procs.map(attachSetup);
  // Python processes are read by the interpreter reader too, and its frames spliced in: what
  // their perf support lacks does not matter then.
  const pythonPids = options.python.source === "auto"
    ? pids.filter((_, i) => setups[i].kind === "python")
    : [];
  const splice = pythonPids.length > 0;
  for (const s of setups) {
    if (!(splice && s.kind === "python")) { for (const note of s.notes) warn(note); }
    if (splice && s.kind === "python") s.jitdump = false;
  }
  const kinds = setups.map((s) => s.kind);
  const names = procs.map(processLabel);
  // A Python started with perf_jit writes a jitdump: perf inject needs monotonic timestamps,
  // and so does the splice (the reader's clock is CLOCK_MONOTONIC).
  const jitdump = setups.some((s) => s.jitdump);
  const stopping = "stopping the recording: the graph is still written";
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const spec = recordSpec(perf, options, tempDir, {
      callGraph: attachCallGraph(kinds),
      monotonicClock: jitdump || splice,
      target: { pids, duration },
    });
    info(
      `recording ${processesPhrase(names)}` +
        (duration !== undefined ? ` for ${duration} s` : ": press Ctrl-C to stop"),
    );
    const mapsBefore = new Set(pids.filter((p) => exists(`/tmp/perf-${p}.map`)));
    const started = Date.now();
    const echo = commandEcho(options.verbose);
    const sampler = splice
      ? startSampler(spliceSampling(pythonPids, options.python.subprocesses, options))
      : undefined;
    const recorded = await runRecord(recordArgv(spec), {}, interrupts, echo, true);
    const python = await samplesOf(sampler);
    await ensureRecorded(
      spec,
      recorded,
      { pids, duration: 0.01 },
      { mode: "pids", pids },
      new FlameError(
        "perf record wrote no data",
        1,
        "did the process exit? add --verbose to see perf's command",
      ),
    );
    // The JVM writes its perf map on request; perf script reads it afterwards.
    const madeMaps: number[] = [];
    for (let i = 0; i < pids.length; i++) {
      if (setups[i].javaPerfMap && await javaPerfMap(pids[i], echo)) {
        if (!mapsBefore.has(pids[i])) madeMaps.push(pids[i]);
      }
    }
    try {
      return await readRecording(spec.output, options, {
        spec,
        started,
        command: "record",
        jitdumps: jitdump,
        seconds: recorded.seconds,
        kinds,
        // The attach notes said what a Python lacks already.
        notesPrinted: setups.some((s) => s.kind === "python" && s.notes.length > 0),
        pythonJitAttach: jitdump,
        title: `flame record: ${names.join(", ")}`,
        tempDir,
        interrupts,
        python,
        lines: options.python.lines,
      });
    } finally {
      for (const pid of madeMaps) removeTree(`/tmp/perf-${pid}.map`);
    }
  });
}

/** `flame record -a`: every CPU, frame-pointer stacks, the idle task left out. */
export async function recordSystem(
  duration: number | undefined,
  options: CaptureOptions,
): Promise<CaptureResult> {
  const perf = requirePerf();
  const stopping = "stopping the recording: the graph is still written";
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const spec = recordSpec(perf, options, tempDir, {
      callGraph: { mode: "fp" },
      monotonicClock: false,
      target: { allCpus: true, duration },
    });
    info(
      "recording the whole system" +
        (duration !== undefined ? ` for ${duration} s` : ": press Ctrl-C to stop"),
    );
    const started = Date.now();
    const recorded = await runRecord(
      recordArgv(spec),
      {},
      interrupts,
      commandEcho(options.verbose),
      true,
    );
    await ensureRecorded(
      spec,
      recorded,
      { allCpus: true, duration: 0.01 },
      { mode: "all-cpus" },
      new FlameError("perf record wrote no data", 1, "add --verbose to see perf's command"),
    );
    return await readRecording(spec.output, options, {
      spec,
      started,
      command: "record",
      jitdumps: false,
      seconds: recorded.seconds,
      kinds: [],
      title: "flame record: all CPUs",
      tempDir,
      interrupts,
      dropIdle: true,
    });
  });
}

/**
 * How many times perf's rate the reader samples beside perf (up to SPLICE_MAX_RATE): the nearer
 * in time a Python stack is read to a perf sample, the likelier it is the one that ran, and the
 * more often a short function is read on both sides of one (measured on
 * fixtures/capture/mixed.py, CPython 3.11, whose read_back lasts 1-2 ms: 5x put 1-15% of its file
 * reads under a neighbouring function, 10x none in six runs).
 */
const SPLICE_RATE_FACTOR = 10;
const SPLICE_MAX_RATE = 1000;

/**
 * The reader's sampling beside perf: every thread, idle ones too (a thread perf samples on a
 * CPU may have been waiting at the reader's tick), several times perf's rate, and quiet when it
 * cannot keep that rate (its samples only help match perf's).
 */
function spliceSampling(
  pids: number[],
  subprocesses: boolean,
  options: CaptureOptions,
): SamplingOptions {
  return {
    pids,
    // A program just exec'd loads and sets up its interpreter first.
    startupGraceMs: 2000,
    rate: Math.min(SPLICE_MAX_RATE, Math.max(options.freq, options.freq * SPLICE_RATE_FACTOR)),
    idle: true,
    subprocesses,
    lines: options.python.lines,
    // Beside perf on the same CPUs, the reader must not slow the program: a quarter of a CPU
    // at most (many threads are then read less often).
    maxCpuShare: 0.25,
    quietWhenBehind: true,
  };
}

/**
 * Stops the reader's sampling and returns its samples, or undefined (with a warning saying why)
 * when it could not read the processes: their stacks then keep perf's frames.
 */
async function samplesOf(sampler: SamplerHandle | undefined): Promise<SamplingResult | undefined> {
  if (sampler === undefined) return undefined;
  sampler.stop();
  try {
    return await sampler.result;
  } catch (err) {
    // (The result is awaited only now: its rejection is marked handled when it is made.)
    if (!(err instanceof FlameError)) throw err;
    warn(
      `the Python stacks could not be read (${err.message}): perf's frames only ` +
        "(on CPython 3.12 and later, --python perf names them through its own perf support)",
    );
    return undefined;
  }
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
