/**
 * What capture learns from the samples while the perf collapser reads them, through its hooks:
 * each sample's PID (to clean up after the runtimes that wrote perf maps and jitdumps) and time
 * (the recording's span), and what each distinct stack says about truncation (the diagnosis).
 * It also picks the frame transform that makes CPython and V8 frames readable. Nothing here
 * reads perf's text: the collapser hands over each header, and each distinct stack once.
 */
import type { PerfOptions, RawFrame } from "../collapse/perf.ts";
import { readableFrameOptions } from "../collapse/readable.ts";
import { StackStats, summarizeStack } from "./diagnose.ts";
import { parseHeaderLine, type SampleHeader } from "./pids.ts";

/** The PIDs, times and stack statistics of the samples one perf collapser reads. */
export class SampleLog {
  /** Sample headers seen. */
  samples = 0;
  /** Times (ns) of the first and last sample. */
  firstNs = Infinity;
  lastNs = -Infinity;
  readonly stats: StackStats;

  /** `pids` collects the PIDs seen (a set shared by parallel slices may be passed). */
  constructor(maxStack: number, readonly pids: Set<number> = new Set()) {
    this.stats = new StackStats(maxStack);
  }

  /**
   * The perf collapser options that feed this log, and make frames readable unless
   * `rawFrames` (--raw-frames).
   */
  hooks(rawFrames: boolean): Partial<PerfOptions> {
    return {
      ...readableFrameOptions({ python: !rawFrames, js: !rawFrames }),
      onHeader: (line) => this.header(line),
      onStack: (frames, samples) => this.stack(frames, samples),
    };
  }

  /** A sample's header line: its PID and time. */
  header(line: string): void {
    const header = parseHeaderLine(line);
    if (header !== undefined) this.noteHeader(header);
  }

  /** A sample's header, parsed. */
  noteHeader(header: SampleHeader): void {
    this.samples++;
    this.pids.add(header.pid);
    if (header.timeNs < this.firstNs) this.firstNs = header.timeNs;
    if (header.timeNs > this.lastNs) this.lastNs = header.timeNs;
  }

  /** A distinct stack (raw frames, leaf first) and how many samples had it. */
  stack(frames: readonly RawFrame[], samples: number): void {
    const summary = summarizeStack(frames);
    for (let i = 0; i < samples; i++) this.stats.add(summary);
  }
}
