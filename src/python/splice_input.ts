/**
 * The sampler's result in the shape the perf splice looks stacks up in: each distinct stack as
 * its frames' names (named as in profiles, by names.ts) with their `entry` marks, and each
 * sample's time, OS thread id and stack, and what is known of each frame. Apart from
 * profile.ts's merged profile: the splice needs the samples one by one.
 */
import type { FrameInfo } from "../profile/profile.ts";
import { frameLabels } from "./names.ts";
import { pythonFrameInfo } from "./profile.ts";
import { type SamplingResult, tickPeriodNs } from "./sampling.ts";

/** A Python frame for the splice: its name and whether it starts an evaluation call. */
export interface SpliceFrame {
  label: string;
  entry: boolean;
}

/** Python stacks by time and thread, for matching against perf's samples. */
export interface SpliceSamples {
  /** Distinct stacks: frames outermost first. */
  stacks: SpliceFrame[][];
  /**
   * In time order: CLOCK_MONOTONIC ns, the OS thread id, the index into `stacks`, and whether
   * the thread was on a CPU.
   */
  samples: { time: number; tid: number | undefined; stack: number; running: boolean }[];
  /** The time one sample stands for, ns (the sampling period, or more when ticks were skipped). */
  periodNs: number;
  /** What is known of each frame by its label: its file and line, for the profile. */
  frameInfo: ReadonlyMap<string, FrameInfo>;
}

/** The samples of `result` for the splice; with `lines`, names carry the line (`f (a.py:3)`). */
export function samplesForSplice(
  result: SamplingResult,
  { lines = false }: { lines?: boolean } = {},
): SpliceSamples {
  const labels = frameLabels(result.frames, lines);
  const frames = result.frames.map((f, i) => ({ label: labels[i], entry: f.entry }));
  return {
    stacks: result.stacks.map((ids) => ids.map((i) => frames[i])),
    samples: result.samples.map((s) => ({
      time: s.time,
      tid: result.threads[s.thread].tid,
      stack: s.stack,
      running: s.running,
    })),
    periodNs: tickPeriodNs(result),
    frameInfo: new Map(result.frames.map((f, i) => [labels[i], pythonFrameInfo(f, lines)])),
  };
}
