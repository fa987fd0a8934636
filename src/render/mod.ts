/**
 * The SVG renderer's public API: folded stacks in, an interactive flame graph out. Every command
 * that draws (svg, run, record, report, files, diff) goes through `renderSvg`.
 */
import { groupDigits } from "../format.ts";
import { FlameError, UsageError } from "../errors.ts";
import { cssFontFamilies } from "./escape.ts";
import { writeFileAtomic } from "../io/output.ts";
export { isolate } from "./escape.ts";
import type { FoldedLine } from "../folded/parse.ts";
import type { FoldedStacks } from "../folded/stacks.ts";
import {
  Colorizer,
  type ColorMode,
  defaultBackground,
  diffColor,
  formatPaletteMap,
  hex,
  parsePaletteMap,
  type Rgb,
} from "./color.ts";
import { type DrawnFrame, layoutFrames, minWidthUnits, NOMINAL_WIDTH, XPAD } from "./layout.ts";
import { writeDocument } from "./svg.ts";
import { buildTree, type FrameTree, type StackColumns } from "./tree.ts";

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

/**
 * How counts are shown in tooltips: plain numbers, bytes with KiB/MiB/GiB beside them, or
 * nanoseconds shown as time (perf's cpu-clock and task-clock periods are nanoseconds).
 */
export type Units = "count" | "bytes" | "ns";

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
   * Count units for tooltips. "bytes" shows `1.5 MiB, 1,572,864 bytes`; "ns" shows `12.3 ms`.
   * Default "bytes" when `countName` is "bytes", "ns" when it is "ns", else "count".
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

/** flamegraph.pl's defaults (width excepted: fluid). */
export const DEFAULT_RENDER_OPTIONS: Readonly<RenderOptions> = {
  title: "",
  subtitle: "",
  width: undefined,
  height: 16,
  minWidth: 0.1,
  fontType: "Verdana",
  fontSize: 12,
  fontWidth: 0.59,
  countName: "samples",
  nameType: "Function:",
  colors: "hot",
  bgColors: undefined,
  hash: false,
  random: false,
  cp: false,
  reverse: false,
  inverted: false,
  flamechart: false,
  negate: false,
  notes: "",
  factor: 1,
  total: undefined,
  units: "count",
};

/** Fills in defaults; the title and units depend on other options. */
export function resolveOptions(options: Partial<RenderOptions>): RenderOptions {
  const o: RenderOptions = { ...DEFAULT_RENDER_OPTIONS };
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  if (!o.title) {
    o.title = o.flamechart ? "Flame Chart" : o.inverted ? "Icicle Graph" : "Flame Graph";
  }
  if (options.units === undefined && (o.countName === "bytes" || o.countName === "ns")) {
    o.units = o.countName;
  }
  return o;
}

/** Background gradients by name (else a flat `#rrggbb`). */
export const BACKGROUNDS = ["yellow", "blue", "green", "grey", "gray"] as const;

/**
 * What is wrong with options that reach the stylesheet or the document's attributes, as one
 * line naming the option (flamegraph.pl's name), or undefined when nothing is. Text shown as
 * text (titles, notes, --countname, --nametype) is escaped where it is written and needs no
 * check; a font list and a colour cannot be escaped into meaning something else, so values that
 * are not one are refused here, in one place, before anything is recorded or drawn.
 */
export function renderOptionProblem(options: Partial<RenderOptions>): string | undefined {
  const { fontType, bgColors, colors } = options;
  if (colors !== undefined && !(PALETTES as readonly string[]).includes(colors)) {
    return `--colors wants one of ${PALETTES.join(", ")}, got ${JSON.stringify(colors)}`;
  }
  if (fontType !== undefined && cssFontFamilies(fontType) === undefined) {
    return `--fonttype wants a font-family list like 'Verdana' or "'DejaVu Sans', ` +
      `sans-serif", got ${JSON.stringify(fontType)}`;
  }
  if (
    bgColors !== undefined && !(BACKGROUNDS as readonly string[]).includes(bgColors) &&
    !/^#[0-9a-fA-F]{6}$/.test(bgColors)
  ) {
    return `--bgcolors wants yellow, blue, green, grey or #rrggbb, got ${JSON.stringify(bgColors)}`;
  }
  const sizes = [
    ["--width", options.width],
    ["--height", options.height],
    ["--fontsize", options.fontSize],
    ["--fontwidth", options.fontWidth],
  ] as const;
  for (const [name, value] of sizes) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      return `${name} wants a positive number, got ${value}`;
    }
  }
  return undefined;
}

/**
 * Renders folded lines (objects, or columns as `readFoldedInto` fills them) as an interactive
 * SVG flame graph. A line with `before` set is differential: its width comes from `count` (the
 * AFTER value) and its colour from the self delta `count - before` (red grew, blue shrank).
 * Throws FlameError when there is nothing to draw, UsageError for options renderOptionProblem
 * refuses. With `cp`, reads and updates the palette map file.
 */
export function renderSvg(
  lines: Iterable<FoldedLine> | StackColumns,
  options: Partial<RenderOptions> = {},
): RenderResult {
  const problem = renderOptionProblem(options);
  if (problem) throw new UsageError(problem);
  const o = resolveOptions(options);
  const warnings: string[] = [];
  const tree = buildTree(lines, { reverse: o.reverse, flamechart: o.flamechart });
  if (tree.total <= 0) {
    throw new FlameError("no stack counts found in the input: nothing to draw");
  }
  const differential = tree.delta !== undefined;
  const countTotal = (tree.total * tree.gcd) / tree.pow10;
  const rootWidth = rootWidthFor(tree, o.total, warnings);
  if (countTotal < 100 && o.countName === "samples" && !differential) {
    warnings.push(`the stack count is low (${countTotal}): did something go wrong?`);
  }
  const layoutWidth = o.width ?? NOMINAL_WIDTH;
  const minUnits = minWidthUnits(o.minWidth, rootWidth, layoutWidth - 2 * XPAD);
  const layout = layoutFrames(tree, rootWidth, minUnits);

  const paint = framePaint(layout.frames, o, differential, warnings);
  const svg = writeDocument({
    title: o.title,
    subtitle: o.subtitle,
    width: o.width,
    layoutWidth,
    frameHeight: o.height,
    fontType: o.fontType,
    fontSize: o.fontSize,
    fontWidth: o.fontWidth,
    countName: o.countName,
    nameType: o.nameType,
    units: o.units,
    inverted: o.inverted,
    differential,
    factor: o.factor,
    pow10: tree.pow10,
    gcd: tree.gcd,
    notes: o.notes,
    background: o.bgColors ?? defaultBackground(o.colors),
    note: droppedNote(layout.dropped, o.minWidth, layout.frames.some((f) => f.hidden > 0)),
    fill: paint.fill,
  }, layout);
  paint.done();
  return {
    svg,
    warnings,
    framesDropped: layout.dropped,
    framesDrawn: layout.frames.length,
    total: countTotal,
    differential,
  };
}

/** The root's width in units: the sum of the counts, or a larger --total. */
function rootWidthFor(tree: FrameTree, total: number | undefined, warnings: string[]): number {
  if (total === undefined) return tree.total;
  const units = Math.round(total * tree.scale);
  if (units >= tree.total) return units;
  const sum = (tree.total * tree.gcd) / tree.pow10;
  warnings.push(`--total ${total} is less than the sum of the counts (${sum}); ignored`);
  return tree.total;
}

/** The details line's idle text when frames were dropped. */
function droppedNote(dropped: number, min: MinWidth, bars: boolean): string {
  if (dropped === 0) return "";
  const what = typeof min === "string" ? `${min} of the total` : `${min} px`;
  const n = groupDigits(dropped);
  const s = dropped === 1 ? "frame" : "frames";
  return `${n} ${s} narrower than ${what} not drawn${
    bars ? " (grey bars stand for runs of them)" : ""
  }; --minwidth 0 keeps all`;
}

/** How frames are filled, and what to do once all are. */
interface FramePaint {
  fill(frame: DrawnFrame): string;
  /** Saves the palette map, with the names coloured for the first time. */
  done(): void;
}

/** Each drawn frame's fill: by name, or by self delta for a differential. */
function framePaint(
  frames: DrawnFrame[],
  o: RenderOptions,
  differential: boolean,
  warnings: string[],
): FramePaint {
  if (differential) {
    let max = 0;
    for (const f of frames) max = Math.max(max, Math.abs(f.delta));
    return { fill: (f) => hex(diffColor(f.delta, max, o.negate)), done: () => {} };
  }
  const mode: ColorMode = o.random ? "random" : o.hash ? "hash" : "stable";
  const mapPath = o.cp === true ? "palette.map" : o.cp || undefined;
  const map = mapPath ? loadPaletteMap(mapPath, warnings) : undefined;
  const colorizer = new Colorizer(o.colors, mode, map);
  return {
    fill: (f) => colorizer.color(f.name),
    done: () => {
      if (map && mapPath) savePaletteMap(mapPath, map, warnings);
    },
  };
}

/** Reads a palette map file; a missing one is empty, an unreadable one is warned about. */
function loadPaletteMap(path: string, warnings: string[]): Map<string, Rgb> {
  try {
    return parsePaletteMap(Deno.readTextFileSync(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) {
      warnings.push(`${path}: cannot read the palette map (${(err as Error).message})`);
    }
    return new Map();
  }
}

/** Saves the palette map as every output is written: atomically, never through a planted link. */
function savePaletteMap(path: string, map: Map<string, Rgb>, warnings: string[]): void {
  try {
    writeFileAtomic(path, formatPaletteMap(map));
  } catch (err) {
    warnings.push(`${path}: cannot save the palette map (${(err as Error).message})`);
  }
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
