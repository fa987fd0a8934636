/**
 * Sampled Python stacks → flame's profile model: one weight per sample, frames named by
 * names.ts (`func (file.py)`, or `func (file.py:42)` with lines) and marked `kind: "python"`
 * with their file and line, the samples in time order on the timeline, and the threads they
 * were taken on. Optionally a root frame per process (`comm-PID`) or per thread
 * (`name-PID/TID`), the way perf's collapsed stacks name them.
 */
import {
  addSample,
  emptyProfile,
  type FrameInfo,
  noteFrame,
  type Profile,
  stackKey,
} from "../profile/profile.ts";
import { frameLabels } from "./names.ts";
import type { PyFrame } from "./reader.ts";
import type { SamplingResult } from "./sampling.ts";
import { monotonicNs } from "./clock.ts";

/** How to build the profile. */
export interface PythonProfileOptions {
  /**
   * Root frames: none, one per process, or one per thread. Default: one per process when
   * more than one process was sampled, else none.
   */
  roots?: "none" | "process" | "thread";
  /** Name frames by the line running (`func (file.py:42)`); needs samples taken with lines. */
  lines?: boolean;
  /** The profile's name (default: the first process's command line). */
  name?: string;
}

/**
 * What the profile knows of a frame the reader read: Python, its file as the interpreter has
 * it, and the line running (`lines`) or else the function's first line.
 */
export function pythonFrameInfo(frame: PyFrame, lines: boolean): FrameInfo {
  return { kind: "python", file: frame.file, line: lines ? frame.line : frame.firstLine };
}

/** A profile of the samples. `timeline.times` count from the first sample's tick (`startNs`). */
export function samplingToProfile(
  result: SamplingResult,
  options: PythonProfileOptions = {},
): Profile {
  const lines = options.lines === true;
  const roots = options.roots ?? (result.processes.length > 1 ? "process" : "none");
  const now = monotonicNs();
  const profile = emptyProfile("samples", {
    name: options.name ?? result.processes[0]?.command,
    producer: "flame python reader",
    startMs: Date.now() - (now - result.startNs) / 1e6,
    durationNs: result.endNs - result.startNs,
    sampleRate: result.rate,
  });

  const labels = frameLabels(result.frames, lines);
  const frameNames = result.frames.map((f, i) => {
    const name = labels[i];
    noteFrame(profile, name, pythonFrameInfo(f, lines));
    return name;
  });

  const comms = new Map(result.processes.map((p) => [p.pid, p.comm || "python"]));
  profile.threads = result.threads.map((t) => ({ pid: t.pid, tid: t.tid, name: t.name }));
  const rootOf = result.threads.map((t) => {
    if (roots === "none") return undefined;
    const comm = comms.get(t.pid) ?? "python";
    const name = roots === "process"
      ? `${comm}-${t.pid}`
      : `${t.name ?? comm}-${t.pid}/${t.tid ?? "?"}`;
    const safe = name.replaceAll(";", "\u037e");
    noteFrame(profile, safe, { kind: "root" });
    return safe;
  });

  const keys = new Map<string, string>();
  for (const s of result.samples) {
    const root = rootOf[s.thread];
    const cacheKey = `${s.stack}:${root ?? ""}`;
    let key = keys.get(cacheKey);
    if (key === undefined) {
      const frames = result.stacks[s.stack].map((i) => frameNames[i]);
      key = stackKey(root === undefined ? frames : [root, ...frames]);
      keys.set(cacheKey, key);
    }
    addSample(profile, key, 1, s.time - result.startNs, s.thread);
  }
  return profile;
}
