/**
 * Which samples of a `perf script` text are kept, by event: stackcollapse-perf.pl keeps the
 * events named by `--event-filter`, else the first event it sees, and so does flame. What was
 * kept and skipped is remembered for the messages.
 *
 * Event names are what perf prints before the header's last `:` (`cycles`, `cycles:u`,
 * `cpu-clock:ppp`, `sched:sched_switch`). perf decorates events with a precision level by itself
 * (`cpu-clock` is printed `cpu-clock:ppp`, `cpu-clock:pppH`, or `cpu-clock:uhppp` for a user
 * without kernel access): a filter without modifiers matches those. Other modifiers change what
 * was counted (`cycles:u` is user time only) and must be named, as in Perl.
 */

/** cpu-clock or task-clock, with modifiers or not. */
const CLOCK_EVENT = /^(?:cpu|task)-clock(?::|$)/;

/**
 * What the sample periods of perf event `event` (as perf prints it, modifiers and all) add up to:
 * nanoseconds of CPU time for the software clocks, `cpu-clock` and `task-clock`; else a count
 * of events. The one place flame decides a perf recording's unit.
 */
export function periodUnit(event: string | undefined): "nanoseconds" | "samples" {
  // (A test, not a split: the line-by-line reader asks once per sample.)
  return event !== undefined && CLOCK_EVENT.test(event) ? "nanoseconds" : "samples";
}

/**
 * True when a sample of `event` with `period` as printed weighs nanoseconds: a clock event
 * (`periodUnit`) whose period perf printed (a missing or zero period counts one, as in Perl).
 */
export function timedSample(event: string | undefined, period: string | undefined): boolean {
  return period !== undefined && period !== "" && period !== "0" &&
    periodUnit(event) === "nanoseconds";
}

/** True when every event was recorded without the kernel (`cycles:u`, `cpu-clock:uhppp`). */
export function userOnly(events: string[]): boolean {
  return events.length > 0 && events.every((e) => {
    const modifiers = e.includes(":") ? e.slice(e.lastIndexOf(":") + 1) : "";
    return MODIFIERS.test(modifiers) && modifiers.includes("u") && !modifiers.includes("k");
  });
}

/** Event names remembered for messages. */
const MAX_EVENT_NAMES = 16;
/** Filter decisions remembered (events repeat on every sample). */
const MAX_DECISIONS = 64;

/** perf's event modifier letters (perf list: u k h I G H p P S D W e b). */
const MODIFIERS = /^[ukhIGHpPSDWeb]+$/;

/**
 * True when the event perf printed as `event` is the one `filter` names: the same name, or
 * (for a filter without modifiers) the same name with modifiers that include perf's precision
 * mark (`p`, `P`).
 */
export function eventMatches(filter: string, event: string): boolean {
  if (event === filter) return true;
  const n = filter.length;
  if (event.length <= n + 1 || event.charCodeAt(n) !== 58 /* : */ || !event.startsWith(filter)) {
    return false;
  }
  const modifiers = event.slice(n + 1);
  return MODIFIERS.test(modifiers) && (modifiers.includes("p") || modifiers.includes("P"));
}

/** Decides, sample by sample, whether an event's samples are kept. */
export class EventFilter {
  /** The filter given, or the first event seen. */
  #filter: string | undefined;
  readonly #given: boolean;
  #defaulted = false;
  readonly #decisions = new Map<string, boolean>();
  /** Events of headers with call chains, and of one-line samples. */
  readonly #events = new Set<string>();
  readonly #oneLineEvents = new Set<string>();
  readonly #skipped = new Set<string>();

  /** `filter`: `--event-filter`, if given. */
  constructor(filter: string | undefined) {
    this.#filter = filter || undefined;
    this.#given = this.#filter !== undefined;
  }

  /**
   * True when samples of `event` (a header's) are kept. Without a filter given, the first
   * event seen becomes it, as in Perl.
   */
  accepts(event: string): boolean {
    if (event === this.#filter) return true;
    if (this.#events.size < MAX_EVENT_NAMES) this.#events.add(event);
    if (this.#filter === undefined) {
      this.#filter = event;
      this.#defaulted = true;
      return true;
    }
    if (this.#given && this.#matches(event)) return true;
    this.#noteSkipped(event);
    return false;
  }

  /**
   * True when a one-line sample (no call chain) of `event` is kept. Perl sees no event name on
   * such lines, so they neither set nor obey the default filter; a filter given applies.
   */
  acceptsOneLine(event: string): boolean {
    if (this.#oneLineEvents.size < MAX_EVENT_NAMES) this.#oneLineEvents.add(event);
    if (!this.#given || this.#matches(event)) return true;
    this.#noteSkipped(event);
    return false;
  }

  #matches(event: string): boolean {
    let ok = this.#decisions.get(event);
    if (ok === undefined) {
      ok = eventMatches(this.#filter!, event);
      if (this.#decisions.size < MAX_DECISIONS) this.#decisions.set(event, ok);
    }
    return ok;
  }

  #noteSkipped(event: string): void {
    if (this.#skipped.size < MAX_EVENT_NAMES) this.#skipped.add(event);
  }

  /** One-line messages on what was filtered out. */
  messages(): string[] {
    const out: string[] = [];
    const skipped = [...this.#skipped].filter((e) => e !== this.#filter);
    if (this.#defaulted && skipped.length !== 0) {
      out.push(
        `Filtering for events of type: ${this.#filter} (the first in the input); skipped ` +
          `samples of ${skipped.join(", ")}. Pick one with --event-filter=EVENT`,
      );
    }
    if (!this.#given && this.#oneLineEvents.size > 1) {
      out.push(
        `samples of several events are mixed: ${[...this.#oneLineEvents].join(", ")}. ` +
          "Pick one with --event-filter=EVENT",
      );
    }
    return out;
  }

  /** Why no sample was kept, when the filter given is why; else undefined. */
  whyNoSamples(): string | undefined {
    const seen = [...new Set([...this.#events, ...this.#oneLineEvents])];
    if (!this.#given || seen.length === 0) return undefined;
    return `no samples of event '${this.#filter}'; the input has ${seen.join(", ")}`;
  }
}
