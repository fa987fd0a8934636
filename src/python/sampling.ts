/**
 * The sampling loop: reads every thread of one or more Python processes at a steady rate,
 * on CLOCK_MONOTONIC, and keeps the samples compactly (distinct frames and stacks interned).
 * Synchronous: it runs in a Web Worker (sampler.ts) so the caller's thread stays free; it
 * sleeps between ticks on an Atomics wait that a stop request cuts short.
 */
import { FlameError } from "../errors.ts";
import { monotonicNs } from "./clock.ts";
import { descendants } from "./children.ts";
import { discoverPython, NotPythonError, versionText } from "./discover.ts";
import { MemoryError, processExists } from "./memory.ts";
import { TornRead, type TornReason } from "./objects.ts";
import { type PyFrame, PythonReader, type PyThread } from "./reader.ts";
import { commandLine, readThreadNames, threadComm, type ThreadNameCache } from "./thread_names.ts";

/** What to sample and how. */
export interface SamplingOptions {
  /** The processes to sample. */
  pids: number[];
  /** Samples per second per thread (default 100). */
  rate?: number;
  /** Stop after this many milliseconds (default: when stopped or every process exited). */
  durationMs?: number;
  /** Keep idle threads too (a wall-clock view); by default only running threads count. */
  idle?: boolean;
  /** Only the thread holding the GIL. */
  gil?: boolean;
  /** Follow descendant processes that are Python too. */
  subprocesses?: boolean;
  /** Record the line running in each frame. */
  lines?: boolean;
  /**
   * Processes of `pids` not yet readable (a program just exec'd, before its interpreter is
   * loaded and set up) are tried again at each tick for this long before their error counts.
   */
  startupGraceMs?: number;
  /**
   * The most of one CPU the sampler may use (0 to 1): past it, ticks are skipped (counted as
   * missed). Unlimited by default.
   */
  maxCpuShare?: number;
  /**
   * Keep quiet when the rate cannot be kept (a sampler beside perf runs as fast as it can; its
   * samples only help match perf's).
   */
  quietWhenBehind?: boolean;
}

/** A thread that samples were taken on. */
export interface SampledThread {
  pid: number;
  tid?: number;
  /** Python's thread ident. */
  ident: number;
  /** Python's thread name, else the kernel's. */
  name?: string;
}

/** A process that was sampled. */
export interface SampledProcess {
  pid: number;
  /** The process's name (`comm`). */
  comm: string;
  command: string;
  version: string;
  /** The parent being sampled, for a followed subprocess. */
  parent?: number;
  /** When it was seen to exit (CLOCK_MONOTONIC ns). */
  exitedNs?: number;
}

/** One sample: a thread's stack at a time. */
export interface Sample {
  /** CLOCK_MONOTONIC nanoseconds. */
  time: number;
  /** Index into `threads`. */
  thread: number;
  /** Index into `stacks`. */
  stack: number;
  running: boolean;
  gil: boolean;
}

/**
 * Why process reads were dropped: what was wrong the second time (a torn read's reason:
 * `bad pointer`, `bad type`, `bad string`, `chain too long`, `moving stack`; `unmapped` for a
 * pointer into unmapped memory), `exited`, or `unreadable` (any other failure).
 */
export type DropReason = TornReason | "unmapped" | "exited" | "unreadable";

/** What a sampling run produced. */
export interface SamplingResult {
  /** Distinct frames. */
  frames: PyFrame[];
  /** Distinct stacks: frame indexes, outermost first. */
  stacks: number[][];
  threads: SampledThread[];
  processes: SampledProcess[];
  samples: Sample[];
  /** Process reads attempted (one per process per tick). */
  reads: number;
  /** Process reads dropped, by reason (after one retry). */
  dropped: Partial<Record<DropReason, number>>;
  /** Ticks sampled (each reads every process once). */
  ticks: number;
  /** Ticks that came too late and were skipped. */
  missedTicks: number;
  /** True when the loop could not keep the rate (more than 5% of ticks missed). */
  fellBehind: boolean;
  rate: number;
  startNs: number;
  endNs: number;
}

/** A stop flag shared with the caller (Int32Array over a SharedArrayBuffer, 1 = stop). */
export type StopFlag = Int32Array;

interface Tracked {
  reader: PythonReader;
  info: SampledProcess;
  names: Map<number, string>;
  namesReadNs: number;
  nameCache: ThreadNameCache;
}

/** Child processes that were not (yet) Python are looked at again for this long. */
const CHILD_GRACE_NS = 2e9;
const CHILD_SCAN_NS = 100e6;
const NAME_REFRESH_NS = 20e6;
/** With maxCpuShare: the most CPU time the sampler may spend at once above its share. */
const CPU_BURST_NS = 50e6;

/** Interns frames and stacks so samples stay small. */
class Interner {
  readonly frames: PyFrame[] = [];
  readonly stacks: number[][] = [];
  readonly #frameIds = new Map<string, number>();
  readonly #stackIds = new Map<string, number>();

  stack(frames: PyFrame[]): number {
    const ids: number[] = [];
    for (const f of frames) {
      const key = `${f.name}\0${f.file}\0${f.firstLine}\0${f.line ?? ""}\0${f.entry ? 1 : 0}`;
      let id = this.#frameIds.get(key);
      if (id === undefined) {
        id = this.frames.length;
        this.frames.push(f);
        this.#frameIds.set(key, id);
      }
      ids.push(id);
    }
    const key = ids.join(",");
    let sid = this.#stackIds.get(key);
    if (sid === undefined) {
      sid = this.stacks.length;
      this.stacks.push(ids);
      this.#stackIds.set(key, sid);
    }
    return sid;
  }
}

function attach(pid: number, parent?: number): Tracked {
  const target = discoverPython(pid);
  return {
    reader: new PythonReader(target),
    info: {
      pid,
      comm: threadComm(pid, pid) ?? "",
      command: commandLine(pid),
      version: versionText(target.version),
      parent,
    },
    names: new Map(),
    namesReadNs: -Infinity,
    nameCache: {},
  };
}

/** Sleeps until `deadlineNs` or until the stop flag is set. */
function sleepUntil(deadlineNs: number, stop: StopFlag | undefined): void {
  const ms = (deadlineNs - monotonicNs()) / 1e6;
  if (ms <= 0) return;
  if (stop) Atomics.wait(stop, 0, 0, ms);
  else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Samples until the duration ends, `stop[0]` becomes 1, or every process has exited. Attach
 * errors for the given pids are thrown (FlameError); a process exiting later keeps its samples.
 */
export function runSampling(options: SamplingOptions, stop?: StopFlag): SamplingResult {
  const rate = options.rate ?? 100;
  if (!(rate > 0 && rate <= 100_000)) throw new FlameError(`sampling rate ${rate} is out of range`);
  const period = 1e9 / rate;
  const tracked: Tracked[] = [];
  /** Roots that are not Python (a shell running a script): watched for Python children. */
  const watched: number[] = [];
  const graceEnd = monotonicNs() + (options.startupGraceMs ?? 0) * 1e6;
  /** Roots still being waited for (see startupGraceMs). */
  let starting: number[] = [];
  for (const pid of options.pids) {
    try {
      tracked.push(attach(pid));
    } catch (err) {
      if (monotonicNs() < graceEnd && processExists(pid)) starting.push(pid);
      else if (!(options.subprocesses && err instanceof NotPythonError)) throw err;
      else watched.push(pid);
    }
  }
  const processes = tracked.map((t) => t.info);
  /** Tries the roots still starting again; past the grace, they fail as they would have. */
  const retryStarting = (now: number) => {
    const still: number[] = [];
    for (const pid of starting) {
      try {
        const t = attach(pid);
        tracked.push(t);
        processes.push(t.info);
      } catch (err) {
        if (now < graceEnd && processExists(pid)) still.push(pid);
        else if (!processExists(pid)) continue;
        else if (!(options.subprocesses && err instanceof NotPythonError)) throw err;
        else watched.push(pid);
      }
    }
    starting = still;
  };
  const interner = new Interner();
  const threads: SampledThread[] = [];
  const threadIds = new Map<string, number>();
  const samples: Sample[] = [];
  const dropped: Partial<Record<DropReason, number>> = {};
  const drop = (r: DropReason) => (dropped[r] = (dropped[r] ?? 0) + 1);
  const pending = new Map<number, { firstSeen: number; parent: number }>();
  const ignored = new Set<number>(options.pids);
  let reads = 0;
  let ticks = 0;
  let missed = 0;
  let lastScan = -Infinity;
  const readOptions = { lines: options.lines === true };

  const startNs = monotonicNs();
  const endAt = options.durationMs !== undefined ? startNs + options.durationMs * 1e6 : Infinity;
  let next = startNs;
  const share = options.maxCpuShare;
  let credit = CPU_BURST_NS;
  let lastTick = startNs;

  const threadIndex = (t: Tracked, th: PyThread): number => {
    // Thread states and idents are reused for new threads; the OS thread id tells them apart.
    const key = `${t.info.pid}:${th.tid ?? ""}:${th.address}:${th.ident}`;
    let i = threadIds.get(key);
    if (i === undefined) {
      i = threads.length;
      threads.push({ pid: t.info.pid, tid: th.tid, ident: th.ident });
      threadIds.set(key, i);
    }
    return i;
  };

  const readOnce = (t: Tracked): PyThread[] | undefined => {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        return t.reader.threads(readOptions);
      } catch (err) {
        if (err instanceof MemoryError && err.reason === "exited") break;
        const torn = err instanceof TornRead ||
          (err instanceof MemoryError && err.reason === "fault");
        if (!torn) {
          if (!processExists(t.info.pid)) break;
          drop("unreadable");
          return undefined;
        }
        if (attempt === 1) {
          if (!processExists(t.info.pid)) break;
          drop(err instanceof TornRead ? err.reason : "unmapped");
          return undefined;
        }
      }
    }
    t.info.exitedNs = monotonicNs();
    drop("exited");
    return undefined;
  };

  while (stop === undefined || Atomics.load(stop, 0) === 0) {
    const now = monotonicNs();
    if (now >= endAt) break;
    if (starting.length > 0) retryStarting(now);
    if (options.subprocesses && now - lastScan >= CHILD_SCAN_NS) {
      lastScan = now;
      followChildren(tracked, watched, processes, pending, ignored, now);
    }
    // (Whether anything is still awaited is asked only once every process has exited: it
    // reads /proc, and the loop runs up to a thousand times a second.)
    if (
      tracked.every((t) => t.info.exitedNs !== undefined) &&
      pending.size === 0 && starting.length === 0 && !watched.some((pid) => processExists(pid))
    ) break;
    ticks++;
    for (const t of tracked) {
      if (t.info.exitedNs !== undefined) continue;
      reads++;
      const read = readOnce(t);
      if (!read) continue;
      const time = monotonicNs();
      let unnamed = false;
      for (const th of read) {
        if (th.frames.length === 0) continue;
        const running = th.state === "running" || (th.state === "unknown" && th.gil);
        if (options.gil ? !th.gil : !options.idle && !running) continue;
        const index = threadIndex(t, th);
        const info = threads[index];
        if (info.name === undefined) {
          info.name = t.names.get(th.ident);
          if (info.name === undefined) unnamed = true;
        }
        samples.push({
          time,
          thread: index,
          stack: interner.stack(th.frames),
          running,
          gil: th.gil,
        });
      }
      if (unnamed && time - t.namesReadNs >= NAME_REFRESH_NS) nameThreads(t, threads, time);
    }
    next += period;
    const after = monotonicNs();
    if (share !== undefined) {
      // A budget of CPU time that fills at `share` of the time passing, up to CPU_BURST_NS,
      // and that each tick spends: reading stays within its share of a CPU over time (a
      // process with many threads is read less often rather than with a whole CPU), while a
      // one-off cost (attaching, reading thread names) does not stop sampling for a multiple
      // of the time it took.
      credit = Math.min(CPU_BURST_NS, credit + (after - lastTick) * share) - (after - now);
      lastTick = after;
      if (credit < 0) {
        const earliest = after - credit / share;
        if (earliest > next) {
          const late = Math.ceil((earliest - next) / period);
          missed += late;
          next += late * period;
        }
      }
    }
    if (after > next) {
      // Too late for one or more ticks: skip them rather than sample in a burst.
      const late = Math.floor((after - next) / period);
      missed += late;
      next += late * period;
    }
    if (next >= endAt) {
      sleepUntil(endAt, stop);
      break;
    }
    sleepUntil(next, stop);
  }
  const endNs = monotonicNs();
  for (const t of tracked) {
    nameThreads(t, threads, endNs);
    t.reader.close();
  }
  return {
    frames: interner.frames,
    stacks: interner.stacks,
    threads,
    processes,
    samples,
    reads,
    dropped,
    ticks,
    missedTicks: missed,
    fellBehind: missed > 0.05 * (ticks + missed) && missed > 1,
    rate,
    startNs,
    endNs,
  };
}

/**
 * The time one tick of a sampling run stood for, ns: the sampling period, or more where ticks
 * were skipped (the sampler fell behind, or kept to its share of a CPU), so that samples
 * weighted by it add up to the time the threads ran.
 */
export function tickPeriodNs(result: SamplingResult): number {
  const nominal = 1e9 / result.rate;
  if (result.missedTicks === 0 || result.ticks === 0) return nominal;
  return nominal * (result.ticks + result.missedTicks) / result.ticks;
}

/** Reads the Python thread names of `t` and fills those threads still unnamed (or comm). */
function nameThreads(t: Tracked, threads: SampledThread[], now: number): void {
  t.namesReadNs = now;
  if (t.info.exitedNs === undefined) {
    for (const [ident, name] of readThreadNames(t.reader, t.nameCache)) t.names.set(ident, name);
  }
  for (const th of threads) {
    if (th.pid !== t.info.pid || th.name !== undefined) continue;
    th.name = t.names.get(th.ident) ??
      (th.tid !== undefined ? threadComm(th.pid, th.tid) : undefined);
  }
}

/** Attaches to new descendants that are Python; others are watched for a while. */
function followChildren(
  tracked: Tracked[],
  watched: number[],
  processes: SampledProcess[],
  pending: Map<number, { firstSeen: number; parent: number }>,
  ignored: Set<number>,
  now: number,
): void {
  const roots = [
    ...watched,
    ...tracked.filter((t) => t.info.parent === undefined).map((t) => t.info.pid),
  ];
  const live = new Set<number>();
  for (const pid of descendants(roots)) {
    live.add(pid);
    if (ignored.has(pid)) continue;
    if (!pending.has(pid)) pending.set(pid, { firstSeen: now, parent: parentOf(pid) });
  }
  for (const [pid, p] of pending) {
    if (!live.has(pid)) {
      pending.delete(pid);
      continue;
    }
    try {
      const t = attach(pid, p.parent);
      tracked.push(t);
      processes.push(t.info);
      pending.delete(pid);
      ignored.add(pid);
    } catch {
      // Not Python (yet: an exec may still be loading libpython); a shell stays watched for
      // its own children through `descendants`.
      if (now - p.firstSeen > CHILD_GRACE_NS) {
        pending.delete(pid);
        ignored.add(pid);
      }
    }
  }
}

function parentOf(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}
