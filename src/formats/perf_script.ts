/**
 * `perf script` text in: folded by the perf collapser (stackcollapse-perf.pl's semantics, the
 * options of `flame collapse perf`), which also says what each folded frame is (its kind from
 * perf's `(dso)` column: kernel, JIT, CPython, V8, native; its module, file and line).
 * Weights are the summed sample periods, as the collapser sums them: nanoseconds when every
 * sample is of the cpu-clock or task-clock event (perf's default without hardware counters),
 * else a count of events.
 */
import { detectFormat } from "../collapse/detect.ts";
import { PerfCollapser } from "../collapse/perf.ts";
import { readableFrameOptions } from "../collapse/readable.ts";
import { periodUnit } from "../collapse/perf_events.ts";
import { HEAD_BYTES } from "./input.ts";
import { collapseToProfile } from "./collapsed.ts";
import type { ProfileReader } from "./format.ts";

/** A header's period and event (`  2004008 cpu-clock:`, `cpu-clock:ppp:`), at its end. */
const PERIOD_TAIL = /\s(\d+)\s+(\S+):\s*$/;
/** A header's timestamp (`533.467720:`). */
const HEADER_TIME = /\s(\d+\.\d+):\s/;

/**
 * What the sample headers say about the weights: perf sums each sample's period, in the unit
 * of its event (`periodUnit`). Also the time covered.
 */
export class HeaderClock {
  #headers = 0;
  #clock = 0;
  #period = 0;
  #samePeriod = true;
  #first = NaN;
  #last = NaN;

  /** Looks at one header line. */
  see(line: string): void {
    this.#headers++;
    const m = PERIOD_TAIL.exec(line);
    if (m && periodUnit(m[2]) === "nanoseconds") {
      this.#clock++;
      const period = Number(m[1]);
      if (this.#period !== 0 && period !== this.#period) this.#samePeriod = false;
      this.#period = period;
    }
    const t = HEADER_TIME.exec(line);
    if (t) {
      const seconds = Number(t[1]);
      if (Number.isNaN(this.#first)) this.#first = seconds;
      this.#last = seconds;
    }
  }

  /** True when every sample was of a clock event with its period printed: weights are ns. */
  get nanoseconds(): boolean {
    return this.#headers > 0 && this.#clock === this.#headers;
  }

  /** Samples per second, when every period was the same clock period. */
  get sampleRate(): number | undefined {
    return this.nanoseconds && this.#samePeriod && this.#period > 0
      ? Math.round(1e9 / this.#period)
      : undefined;
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
    const clock = new HeaderClock();
    // CPython's frames named as `flame collapse` and `flame report` name them (perf's
    // `py::f:file` as `f (file)`, the interpreter's glue between them dropped), unless the
    // caller's options say otherwise.
    const collapser = new PerfCollapser({
      ...readableFrameOptions({ python: true, js: false }),
      ...options.perf,
      onHeader: (line) => clock.see(line),
    });
    const result = await collapseToProfile(input, collapser, "perf");
    const { profile } = result;
    if (clock.nanoseconds) profile.unit = "nanoseconds";
    if (clock.sampleRate !== undefined) profile.meta.sampleRate = clock.sampleRate;
    if (clock.durationNs !== undefined) profile.meta.durationNs = clock.durationNs;
    return result;
  },
};
