/**
 * The contract every collapser keeps: decoded text in (any chunk boundaries), folded stacks out.
 * Collapsers know nothing of where the text came from or how it will be drawn.
 */
import type { FoldedStacks } from "../folded/stacks.ts";
import type { FrameInfo, Profile, ProfileMeta, Unit } from "../profile/profile.ts";

/** What a collapser produced. */
export interface CollapseResult {
  /** Folded stacks, root frame first. */
  stacks: FoldedStacks;
  /** Samples (stacks) that were folded. */
  samples: number;
  /** One-line warnings for the user (odd input that was still folded, dropped data). */
  warnings: string[];
  /**
   * What is known of the frame names in `stacks` (their kind; their file and line, or module,
   * where the input says), worked out once per name. Names missing here are of unknown kind.
   */
  frames: Map<string, FrameInfo>;
}

/**
 * The profile of a collapse: its stacks (the same Map, not copied) and frames, weighed in
 * `unit` (perf sums sample periods: nanoseconds for cpu-clock and task-clock, events for
 * hardware counters; DTrace and folded counts are samples unless the caller knows better).
 */
export function profileOf(
  result: CollapseResult,
  unit: Unit = "samples",
  meta: ProfileMeta = {},
): Profile {
  return { unit, stacks: result.stacks, frames: result.frames, meta };
}

/** A streaming collapser: `push` text as it arrives, then `finish` once. */
export interface Collapser {
  /** Feeds decoded text; chunks may end anywhere, even inside a line. */
  push(chunk: string): void;
  /** Ends the input. Throws InputFormatError when the input is not of this format at all. */
  finish(): CollapseResult;
}

/** The input is not what the collapser reads: the CLI prints it with the file name, exit 1. */
export class InputFormatError extends Error {
  constructor(message: string, readonly line?: number) {
    super(message);
    this.name = "InputFormatError";
  }
}
