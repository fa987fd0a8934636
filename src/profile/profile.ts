/**
 * The profile model: the one shape every input becomes and every output reads.
 *
 * A profile is a set of distinct stacks with summed weights. A stack is written as its frame
 * names, root first, joined by `;` (the folded form): this is compact (one string per distinct
 * stack, however many samples share it), it is what flame graphs merge on, and it makes two
 * profiles of one program comparable by name. What a name alone does not say (the kind of frame,
 * its file and line, its module) is kept once per name in `frames`. Sources that know when each
 * sample was taken, and on which thread, also fill `timeline` and `threads`.
 */

/** What a frame is: drives colours, summaries and the formats that distinguish them. */
export type FrameKind =
  | "python"
  | "js"
  | "java"
  | "native"
  | "kernel"
  | "jit"
  /** A process or thread root (`python3-1234/1240`), or a grouping frame of flame's own. */
  | "root"
  /** A directory or file of `flame files`. */
  | "file"
  | "unknown";

/** What a profile's weights count. */
export type Unit =
  /** Samples (or events): each weight is a number of them. */
  | "samples"
  /** Time: CPU or wall-clock nanoseconds. */
  | "nanoseconds"
  /** Memory or disk bytes. */
  | "bytes"
  /** Things counted that are not samples: calls, directory entries. */
  | "count";

/** What is known about a frame beyond its name. Every field is optional but the kind. */
export interface FrameInfo {
  kind: FrameKind;
  /** Source file: a path, or a pseudo-file such as `<frozen importlib._bootstrap>`. */
  file?: string;
  /** 1-based line in `file`: the function's first line, or the line running. */
  line?: number;
  /** The binary or library a native frame is in. */
  module?: string;
}

/** A thread or process that samples were taken on. */
export interface ThreadInfo {
  pid?: number;
  tid?: number;
  /** The thread's or process's name (`comm`, Python's thread name). */
  name?: string;
}

/**
 * Samples in the order they were taken. Parallel arrays, one entry per sample: the sample's
 * stack (a key of `Profile.stacks`), its weight, its time and (where known) its thread.
 */
export interface Timeline {
  stacks: string[];
  weights: number[];
  /** Nanoseconds since `ProfileMeta.startNs` (or since an arbitrary origin when it is absent). */
  times: number[];
  /** Index into `Profile.threads` per sample. */
  threads?: number[];
}

/** Where a profile came from and what it covers. */
export interface ProfileMeta {
  /** A name for the profile (program, command line or file). */
  name?: string;
  /** The producer's name (`perf`, `py-spy`, `cProfile`, `flame python reader`). */
  producer?: string;
  /** Wall-clock start, milliseconds since the epoch. */
  startMs?: number;
  /** Nanoseconds from the first sample to the last (or the recording's length). */
  durationNs?: number;
  /** Samples per second the profile was taken at, when sampled at a steady rate. */
  sampleRate?: number;
}

/** A profile: distinct stacks with weights, and what is known of their frames. */
export interface Profile {
  unit: Unit;
  /** Distinct stacks (frame names root first, joined by `;`) to their summed weights. */
  stacks: Map<string, number>;
  /**
   * Differential profiles only: each stack's weight in the profile compared against (BEFORE);
   * `stacks` holds the AFTER weights.
   */
  before?: Map<string, number>;
  /** Per frame name, what is known besides the name. Names missing here are "unknown". */
  frames: Map<string, FrameInfo>;
  /** The samples in time order, where the source has it. */
  timeline?: Timeline;
  /** The threads `timeline.threads` refers to. */
  threads?: ThreadInfo[];
  meta: ProfileMeta;
}

/** The frame separator of stack keys. */
export const SEPARATOR = ";";

/** An empty profile of `unit`. */
export function emptyProfile(unit: Unit = "samples", meta: ProfileMeta = {}): Profile {
  return { unit, stacks: new Map(), frames: new Map(), meta };
}

/** Adds `weight` to `stack`. */
export function addWeight(stacks: Map<string, number>, stack: string, weight: number): void {
  stacks.set(stack, (stacks.get(stack) ?? 0) + weight);
}

/** The stack key of frame names (root first). Names must not hold the separator. */
export function stackKey(names: readonly string[]): string {
  return names.join(SEPARATOR);
}

/** The frame names of a stack key, root first. */
export function stackFrames(stack: string): string[] {
  return stack.split(SEPARATOR);
}

/** The sum of the weights. */
export function totalWeight(stacks: Map<string, number>): number {
  let total = 0;
  for (const w of stacks.values()) total += w;
  return total;
}

/** What is known of a frame: its entry in `frames`, else an unknown frame. */
export function frameInfo(profile: Profile, name: string): FrameInfo {
  return profile.frames.get(name) ?? UNKNOWN;
}

const UNKNOWN: FrameInfo = Object.freeze({ kind: "unknown" });

/** Records what is known of `name` unless something is already. */
export function noteFrame(profile: Profile, name: string, info: FrameInfo): void {
  if (!profile.frames.has(name)) profile.frames.set(name, info);
}

/**
 * Appends one sample to the profile: its weight is added to the stack, and when `time` is given
 * the sample goes on the timeline (samples must then come in time order).
 */
export function addSample(
  profile: Profile,
  stack: string,
  weight: number,
  time?: number,
  thread?: number,
): void {
  addWeight(profile.stacks, stack, weight);
  if (time === undefined) return;
  const t = profile.timeline ??= { stacks: [], weights: [], times: [] };
  t.stacks.push(stack);
  t.weights.push(weight);
  t.times.push(time);
  if (thread !== undefined) {
    t.threads ??= new Array(t.stacks.length - 1).fill(0);
    t.threads.push(thread);
  } else if (t.threads) {
    t.threads.push(0);
  }
}
