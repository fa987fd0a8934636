/**
 * Running perf: `perf record` (in the foreground, sharing the terminal with the program),
 * `perf inject --jit` when a runtime wrote jitdumps, and `perf script` streamed straight into
 * the perf collapser, in parallel time slices on big recordings. Each step can be interrupted;
 * what was read until then is still folded.
 */
import { PerfCollapser, type PerfOptions, rawFramesOf, type StackNode } from "../collapse/perf.ts";
import { mergeClocks, type PerfClock } from "../collapse/perf_state.ts";
import type { FrameInfo } from "../profile/profile.ts";
import type { PerfSplice, PythonFrameLike } from "./splice.ts";
import { InputFormatError } from "../collapse/types.ts";
import { addStack, type FoldedStacks } from "../folded/stacks.ts";
import { readChunks } from "../collapse/stream.ts";
import { StackStats } from "./diagnose.ts";
import {
  bufferedArgv,
  headerArgv,
  injectArgv,
  parseHeader,
  type PerfHeader,
  scriptArgv,
} from "./perf.ts";
import { realProbe } from "./runtime.ts";
import { SampleLog } from "./samples.ts";
import { parseHeaderLine } from "./pids.ts";
import { type Interrupts, signalPid } from "./signals.ts";
import { childPids } from "../python/mod.ts";

/** How long perf may take to finish after its program was killed, before it is killed too. */
const PERF_EXIT_WAIT_MS = 2000;

/** Prints a command before it runs (`--verbose`), or nothing. */
export type CommandEcho = (argv: string[], env?: Record<string, string>) => void;

/** How `perf record` ended. */
export interface RecordOutcome {
  /** perf's exit status: the program's own status, or 128+N when a signal ended it. */
  code: number;
  signal: Deno.Signal | null;
  /** Wall-clock seconds perf ran. */
  seconds: number;
  /** perf's own messages, when they were captured (`captureStderr`). */
  stderr?: string;
  /** The process perf started (the program of `flame run`), when it was seen. */
  childPid?: number;
}

/**
 * Runs `perf record` with the terminal: the program's input and output stay the user's. While
 * it runs, an interrupt is forwarded to perf (which stops the program and finishes its file);
 * a second one kills perf and the program.
 */
export async function runRecord(
  argv: string[],
  env: Record<string, string>,
  interrupts: Interrupts,
  echo?: CommandEcho,
  captureStderr = false,
  onProgram?: (pid: number) => void,
): Promise<RecordOutcome> {
  echo?.(argv, env);
  const started = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env,
    stdin: "inherit",
    stdout: "inherit",
    // Attaching runs no program of the user's: perf's messages are read (all of them, so it
    // never blocks on a full pipe) and explained instead of shown.
    stderr: captureStderr ? "piped" : "inherit",
  }).spawn();
  const stderr = captureStderr ? new Response(child.stderr).text() : undefined;
  // perf forks the program at once; its PID lets flame stop it should perf itself be killed.
  let childPid: number | undefined;
  let exited = false;
  const watch = (async () => {
    for (let i = 0; i < 200 && childPid === undefined && !exited; i++) {
      childPid = childPids(child.pid)[0];
      if (childPid === undefined) await new Promise((r) => setTimeout(r, 5));
    }
    // perf's child waits for perf before it runs the program: tell when it has (its
    // executable is no longer perf's), for readers that look into the program.
    if (onProgram === undefined || childPid === undefined) return;
    const perfExe = exeOf(child.pid);
    for (let i = 0; i < 1000 && !exited; i++) {
      const exe = exeOf(childPid);
      if (exe === undefined) return; // gone already
      if (exe !== perfExe) {
        onProgram(childPid);
        return;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  interrupts.target = {
    stop: (sig) => signalPid(child.pid, sig === "SIGTERM" ? "SIGTERM" : "SIGINT"),
    // The program goes at once; perf gets a moment to finish and remove its own temporary
    // files (a SIGKILLed perf leaves /tmp/perf-vdso.so-* behind), then is killed too.
    kill: async () => {
      for (const pid of childPids(child.pid)) {
        interrupts.killedPids.push(pid);
        signalPid(pid, "SIGKILL");
      }
      signalPid(child.pid, "SIGTERM");
      const gone = await Promise.race([
        child.status.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), PERF_EXIT_WAIT_MS)),
      ]);
      if (!gone) signalPid(child.pid, "SIGKILL");
    },
  };
  try {
    const status = await child.status;
    exited = true;
    // An abort ended perf: flame exits as soon as the clean-up is done; nothing more to read.
    if (interrupts.aborting) await new Promise(() => {});
    await watch;
    return {
      code: status.code,
      signal: status.signal,
      seconds: (performance.now() - started) / 1000,
      stderr: await stderr,
      childPid,
    };
  } finally {
    interrupts.target = undefined;
  }
}

/** The executable of a process, or undefined when it is gone or not ours to look at. */
function exeOf(pid: number): string | undefined {
  try {
    return Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

/** Starts `argv` with no input and both outputs piped to flame. */
function spawnPiped(argv: string[]): Deno.ChildProcess {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Runs a short perf step with its output captured (inject, header, a diagnosis rerun). */
export async function runCaptured(
  argv: string[],
  echo?: CommandEcho,
  interrupts?: Interrupts,
): Promise<{ success: boolean; code: number; stdout: string; stderr: string }> {
  echo?.(argv);
  const child = spawnPiped(argv);
  if (interrupts) {
    interrupts.target = {
      stop: (sig) => signalPid(child.pid, sig),
      kill: () => signalPid(child.pid, "SIGKILL"),
    };
  }
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    return {
      success: out.success,
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    if (interrupts) interrupts.target = undefined;
  }
}

/** Reads a recording's header (first/last sample time, events, call-graph mode). */
export async function readHeader(
  perf: string,
  data: string,
  echo?: CommandEcho,
): Promise<PerfHeader | undefined> {
  try {
    const r = await runCaptured(headerArgv(perf, data), echo);
    return r.success ? parseHeader(r.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `perf inject --jit` into `output`. Returns false (and perf's complaint) when it failed; the
 * raw recording is still usable then, only JIT frames stay unnamed.
 */
export async function injectJit(
  perf: string,
  input: string,
  output: string,
  buildidDir: string,
  interrupts?: Interrupts,
  echo?: CommandEcho,
): Promise<{ ok: boolean; message?: string }> {
  const r = await runCaptured(injectArgv(perf, input, output, buildidDir), echo, interrupts);
  if (r.success) return { ok: true };
  const line = r.stderr.split("\n").map((l) => l.trim()).find((l) => l !== "");
  return { ok: false, message: line ?? `exit status ${r.code}` };
}

/** What folding a recording needs. */
export interface ScriptJob {
  perf: string;
  data: string;
  /** `--time` ranges, one `perf script` each; `[""]` reads the whole recording at once. */
  slices: string[];
  inline: boolean;
  extraFields?: string[];
  /** The perf collapser's options. */
  collapse: Partial<PerfOptions>;
  /** Keep every frame as perf printed it (no Python/V8 tidying). */
  rawFrames: boolean;
  /** kernel.perf_event_max_stack, for the truncation diagnosis. */
  maxStack: number;
  interrupts?: Interrupts;
  /** Collects every PID with a sample, as they are read (also when perf script fails). */
  pids?: Set<number>;
  /**
   * coreutils' stdbuf, to give perf script's stdout a pipe-sized buffer (looked up on PATH when
   * not given; `""` runs perf script as it is).
   */
  stdbuf?: string;
  /** Called as data arrives: bytes of perf script text and samples so far. */
  onProgress?: (bytes: number, samples: number) => void;
  echo?: CommandEcho;
  /** The interpreter reader's Python stacks to splice into each sample's native stack. */
  splice?: PerfSplice<PythonFrameLike>;
}

/**
 * One collapser's options: the job's, the sample log's hooks (PIDs, times, the diagnosis,
 * readable frames) and, with a splice, its per-sample hooks.
 */
function collapseOptions(job: ScriptJob, log: SampleLog): Partial<PerfOptions> {
  const hooks = log.hooks(job.rawFrames);
  const options: Partial<PerfOptions> = { ...job.collapse, ...hooks };
  if (job.splice === undefined) return options;
  const splice = job.splice.hooks<StackNode>(rawFramesOf);
  return {
    ...options,
    // The header is parsed once for both.
    onHeader: (line) => {
      const header = parseHeaderLine(line);
      if (header === undefined) return;
      log.noteHeader(header);
      splice.onHeader(header);
    },
    sampleVariant: splice.sampleVariant,
    variant: splice.variant,
  };
}

/** The folded recording, with what was learnt on the way. */
export interface ScriptOutcome {
  stacks: FoldedStacks;
  /** What is known of each folded frame name (kind, module, file). */
  frames: Map<string, FrameInfo>;
  samples: number;
  warnings: string[];
  stats: StackStats;
  /** Every PID with a sample. */
  pids: Set<number>;
  /** perf script was stopped by an interrupt: the stacks are partial. */
  interrupted: boolean;
  /** Seconds from the first sample to the last (0 with fewer than two). */
  span: number;
  /** What the weights are: nanoseconds (a clock event's periods) or events. */
  clock: PerfClock;
}

/**
 * Streams `perf script` (one process per time slice, all at once) into perf collapsers and
 * merges their stacks in slice order. A perf script that fails outright throws; one stopped by
 * Ctrl-C leaves what it printed.
 */
export async function scriptAndCollapse(job: ScriptJob): Promise<ScriptOutcome> {
  const children: Deno.ChildProcess[] = [];
  if (job.interrupts) {
    job.interrupts.target = {
      stop: (sig) => children.forEach((c) => signalPid(c.pid, sig)),
      kill: () => children.forEach((c) => signalPid(c.pid, "SIGKILL")),
    };
  }
  const pids = job.pids ?? new Set<number>();
  // Only an interrupt during this pass cuts it short (one during recording already ended).
  const interruptsBefore = job.interrupts?.count ?? 0;
  let bytes = 0;
  const logs: SampleLog[] = [];
  const progress = () => {
    job.onProgress?.(bytes, logs.reduce((n, s) => n + s.samples, 0));
  };
  try {
    const runs = job.slices.map(async (time) => {
      const argv = bufferedArgv(
        scriptArgv({
          perf: job.perf,
          input: job.data,
          inline: job.inline,
          extraFields: job.extraFields,
          time: time || undefined,
        }),
        job.stdbuf === undefined ? realProbe.which("stdbuf") : job.stdbuf || undefined,
      );
      job.echo?.(argv);
      const child = spawnPiped(argv);
      children.push(child);
      const log = new SampleLog(job.maxStack, pids);
      logs.push(log);
      const collapser = new PerfCollapser(collapseOptions(job, log));
      const stderr = new Response(child.stderr).text();
      const decoder = new TextDecoder("utf-8", { fatal: false });
      for await (const bytesRead of readChunks(child.stdout)) {
        bytes += bytesRead.byteLength;
        progress();
        collapser.push(decoder.decode(bytesRead, { stream: true }));
      }
      collapser.push(decoder.decode());
      const status = await child.status;
      const err = await stderr;
      return { status, err, collapser, log };
    });
    const results = await Promise.all(runs);
    const out: ScriptOutcome = {
      stacks: new Map(),
      frames: new Map(),
      samples: 0,
      warnings: [],
      stats: new StackStats(job.maxStack),
      pids,
      interrupted: (job.interrupts?.count ?? 0) > interruptsBefore,
      span: 0,
      clock: { nanoseconds: false },
    };
    const clocks: PerfClock[] = [];
    const first = Math.min(...results.map((r) => r.log.firstNs));
    const last = Math.max(...results.map((r) => r.log.lastNs));
    if (last > first) out.span = (last - first) / 1e9;
    let lost = 0;
    for (const r of results) {
      if (!r.status.success && !out.interrupted) {
        throw new ScriptError(firstPerfLine(r.err) ?? `exit status ${r.status.code}`);
      }
      const m = /lost (\d+) chunks/.exec(r.err);
      if (m) lost = Math.max(lost, Number(m[1]));
      if (/data size field is 0|not properly terminated/.test(r.err)) {
        addWarning(out.warnings, "the recording was not finished properly (perf was killed?)");
      }
      const result = finishCollapser(r.collapser);
      for (const [stack, count] of result.stacks) addStack(out.stacks, stack, count);
      for (const [name, info] of result.frames) {
        if (!out.frames.has(name)) out.frames.set(name, info);
      }
      out.samples += result.samples;
      if (result.samples > 0) clocks.push(r.collapser.clock);
      for (const w of result.warnings) {
        if (!/^no samples in the input/.test(w)) addWarning(out.warnings, w);
      }
      out.stats.merge(r.log.stats);
    }
    out.clock = mergeClocks(clocks);
    if (lost > 0) {
      out.warnings.push(
        `perf lost ${lost} chunk${lost === 1 ? "" : "s"} of samples while recording (the machine ` +
          "was too busy to keep up): lower the frequency (-F) for exact proportions",
      );
    }
    return out;
  } finally {
    if (job.interrupts) job.interrupts.target = undefined;
  }
}

/** The collapser's result; an empty slice (no text at all) is no error. */
function finishCollapser(c: PerfCollapser) {
  try {
    return c.finish();
  } catch (err) {
    if (err instanceof InputFormatError) {
      throw new ScriptError(`perf script printed something flame cannot read: ${err.message}`);
    }
    throw err;
  }
}

function addWarning(warnings: string[], w: string): void {
  if (!warnings.includes(w)) warnings.push(w);
}

/**
 * Every PID the recording saw start (`perf script --show-task-events`: fork and exec records),
 * also those that never got a sample: a program's short-lived children leave perf maps too.
 */
export async function recordedPids(
  perf: string,
  data: string,
  echo?: CommandEcho,
): Promise<Set<number>> {
  const pids = new Set<number>();
  try {
    const r = await runCaptured(
      [perf, "script", "--show-task-events", "-F", "pid", "-i", data],
      echo,
    );
    for (const m of r.stdout.matchAll(/PERF_RECORD_(?:FORK|COMM exec: .*?:)\(?(\d+)[:/]/g)) {
      pids.add(Number(m[1]));
    }
  } catch { /* perf could not say: leave the files */ }
  return pids;
}

/** perf script failed: carries perf's first message line. */
export class ScriptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ScriptError";
  }
}

/** perf's first meaningful stderr line (skipping blank lines and bare `Warning:`/`Error:`). */
export function firstPerfLine(stderr: string): string | undefined {
  return stderr.split("\n").map((l) => l.trim()).find((l) =>
    l !== "" && l !== "Warning:" && l !== "Error:"
  );
}
