/**
 * `perf script` text in: folded by the perf collapser (stackcollapse-perf.pl's semantics, the
 * options of `flame collapse perf`), which also says what each folded frame is (its kind from
 * perf's `(dso)` column: kernel, JIT, CPython, V8, native; its module, file and line).
 * Weights are the summed sample periods, as the collapser sums them: nanoseconds when every
 * sample kept (the event filter's, by default the first event's) is of the cpu-clock or
 * task-clock event (perf's default without hardware counters), else a count of events.
 */
import { detectFormat } from "../collapse/detect.ts";
import { PerfCollapser } from "../collapse/perf.ts";
import { readableFrameOptions } from "../collapse/readable.ts";
import { HEAD_BYTES } from "./input.ts";
import { collapseToProfile } from "./collapsed.ts";
import type { ProfileReader } from "./format.ts";

/** A header's timestamp (`533.467720:`). */
const HEADER_TIME = /\s(\d+\.\d+):\s/;

/** The time the sample headers cover, from the first timestamp to the last. */
class HeaderTimes {
  #first = NaN;
  #last = NaN;

  /** Looks at one header line. */
  see(line: string): void {
    const t = HEADER_TIME.exec(line);
    if (t === null) return;
    const seconds = Number(t[1]);
    if (Number.isNaN(this.#first)) this.#first = seconds;
    this.#last = seconds;
  }

  /** Nanoseconds from the first sample to the last, when perf printed times. */
  get durationNs(): number | undefined {
    return Number.isNaN(this.#first) ? undefined : Math.round((this.#last - this.#first) * 1e9);
  }
}

/** The perf script reader. */
export const perfScriptReader: ProfileReader = {
  name: "perf",
  description: "perf script output (perf record -g; perf script)",
  detect: (head, text) => detectFormat(text, head.length < HEAD_BYTES) === "perf",
  async read(input, options) {
    const times = new HeaderTimes();
    // CPython's frames named as `flame collapse` and `flame report` name them (perf's
    // `py::f:file` as `f (file)`, the interpreter's glue between them dropped), unless the
    // caller's options say otherwise.
    const collapser = new PerfCollapser({
      ...readableFrameOptions({ python: true, js: false }),
      ...options.perf,
      onHeader: (line) => times.see(line),
    });
    const result = await collapseToProfile(input, collapser, "perf");
    const { profile } = result;
    const clock = collapser.clock;
    if (clock.nanoseconds) profile.unit = "nanoseconds";
    if (clock.periodNs !== undefined) profile.meta.sampleRate = Math.round(1e9 / clock.periodNs);
    if (times.durationNs !== undefined) profile.meta.durationNs = times.durationNs;
    return result;
  },
};
