/**
 * The SVG renderer's public API: folded stacks in, an interactive flame graph out. Every command
 * that draws (svg, run, record, report, files, diff) goes through `renderSvg`.
 */
import { FlameError } from "../cli/errors.ts";
import type { FoldedLine } from "../folded/parse.ts";
import type { FoldedStacks } from "../folded/stacks.ts";

/** Colour palettes (flamegraph.pl's, plus inferno's `python` and `rust`). */
export const PALETTES = [
  "hot",
  "mem",
  "io",
  "wakeup",
  "chain",
  "java",
  "js",
  "perl",
  "python",
  "rust",
  "red",
  "green",
  "blue",
  "aqua",
  "yellow",
  "purple",
  "orange",
] as const;

/** A colour palette name. */
export type Palette = typeof PALETTES[number];

/** A minimum frame width: pixels (a number), or a percentage of the total as `"N%"`. */
export type MinWidth = number | `${number}%`;

/** How counts are shown in tooltips: plain numbers, or bytes with KiB/MiB/GiB beside them. */
export type Units = "count" | "bytes";

/**
 * Everything that shapes the drawing. Names follow flamegraph.pl's options; the defaults are
 * flamegraph.pl's except `width`, which is fluid (100 % of the window) unless given.
 */
export interface RenderOptions {
  /** Heading. Default "Flame Graph", or "Icicle Graph" (inverted), "Flame Chart" (flamechart). */
  title: string;
  /** Second, smaller heading line; "" for none. */
  subtitle: string;
  /** Image width in pixels; undefined = fluid (fills the window, laid out for 1200 px). */
  width: number | undefined;
  /** Frame height in pixels (16). */
  height: number;
  /** Frames narrower than this are not drawn: pixels (0.1), or `"N%"` of the total. */
  minWidth: MinWidth;
  /** CSS font family (Verdana). */
  fontType: string;
  /** Font size in pixels (12). */
  fontSize: number;
  /** Average glyph width as a fraction of the font size, for sizing labels (0.59). */
  fontWidth: number;
  /** What a count is, shown in tooltips ("samples"). "bytes" also sets `units` to "bytes". */
  countName: string;
  /** Prefix of the details line ("Function:"). */
  nameType: string;
  /** Colour palette ("hot"). */
  colors: Palette;
  /** Background: "yellow", "blue", "green", "grey" gradients or a flat "#rrggbb"; by palette. */
  bgColors: string | undefined;
  /** Colour by flamegraph.pl's weighted name hash instead of the default per-name hash. */
  hash: boolean;
  /** Random colours (different on every run). */
  random: boolean;
  /**
   * Consistent palette: read colours from, and save new ones to, a palette map file
   * (`name->rgb(r,g,b)` lines). `true` means `./palette.map`; a string is the file's path.
   */
  cp: boolean | string;
  /** Reverse every stack before merging (frames merge from the leaf). */
  reverse: boolean;
  /** Icicle graph: the root at the top. */
  inverted: boolean;
  /** Keep input order (merge adjacent lines only), so the x axis can be time. */
  flamechart: boolean;
  /** Differential graphs: swap red (grew) and blue (shrank). */
  negate: boolean;
  /** Text put in an XML comment at the top of the file. */
  notes: string;
  /** Multiply counts shown in tooltips by this (1). */
  factor: number;
  /** Draw the root this wide (in counts) instead of the sum, if larger. */
  total: number | undefined;
  /**
   * Count units for tooltips. "bytes" shows `1.5 MiB (1,572,864 bytes)`. Default "bytes" when
   * `countName` is "bytes", else "count".
   */
  units: Units;
}

/** What rendering produced. */
export interface RenderResult {
  /** The SVG document. */
  svg: string;
  /** One-line warnings for the user (low sample count, ignored --total, ...). */
  warnings: string[];
  /** Frames not drawn because they were narrower than the minimum width. */
  framesDropped: number;
  /** Frames drawn, the root included. */
  framesDrawn: number;
  /** Sum of the counts (the AFTER counts for a differential). */
  total: number;
  /** True when some line had a BEFORE count, i.e. the graph is differential. */
  differential: boolean;
}

/**
 * Renders folded lines as an interactive SVG flame graph. A line with `before` set is
 * differential: its width comes from `count` (the AFTER value) and its colour from the self
 * delta `count - before` (red grew, blue shrank). Throws FlameError when there is nothing to
 * draw.
 */
export function renderSvg(
  lines: Iterable<FoldedLine>,
  options: Partial<RenderOptions> = {},
): RenderResult {
  void lines;
  void options;
  throw new FlameError("the SVG renderer is not built yet");
}

/** Renders merged folded stacks (stack to count), as `renderSvg` does. */
export function renderFoldedStacks(
  stacks: FoldedStacks,
  options: Partial<RenderOptions> = {},
): RenderResult {
  return renderSvg(foldedLines(stacks), options);
}

function* foldedLines(stacks: FoldedStacks): Iterable<FoldedLine> {
  for (const [stack, count] of stacks) yield { stack, count };
}
