/**
 * Choosing what to draw: frames narrower than the minimum width are dropped, and runs of
 * adjacent dropped siblings that together are wide enough are drawn as one grey "hidden frames"
 * bar, so a parent's hidden children never look like its self time.
 */
import type { MinWidth } from "./mod.ts";
import type { FrameTree } from "./tree.ts";

/** Horizontal padding either side of the frames, px. */
export const XPAD = 10;
/** The finest grid frame positions are written on (browsers keep SVG geometry in float32). */
export const GRID = 2 ** 24;
/** The width a fluid graph is laid out for before the browser knows the window, px. */
export const NOMINAL_WIDTH = 1200;

/** One frame to draw. `hidden` > 0 marks a bar standing for that many dropped siblings. */
export interface DrawnFrame {
  /** Index in the tree, or -1 for a hidden-frames bar. */
  node: number;
  name: string;
  depth: number;
  /** Left edge and width, in units. */
  start: number;
  width: number;
  /** Self delta for a differential, else 0. */
  delta: number;
  /** Sibling frames this bar stands for (0 for a real frame). */
  hidden: number;
}

/** What the layout chose. */
export interface Layout {
  frames: DrawnFrame[];
  /** Frames not drawn one by one (those inside hidden-frames bars included). */
  dropped: number;
  /** The deepest drawn frame's depth. */
  maxDepth: number;
  /** The root's width in units (the total, or the --total override). */
  rootWidth: number;
  /** Frames narrower than this many units were dropped. */
  minUnits: number;
}

/**
 * The minimum width in units: `min` pixels of `pixelWidth` px of frames spanning `rootWidth`
 * units, or `min`% of `rootWidth`.
 */
export function minWidthUnits(min: MinWidth, rootWidth: number, pixelWidth: number): number {
  if (typeof min === "string") {
    const pct = Number(min.slice(0, -1));
    return (rootWidth * pct) / 100;
  }
  return (min * rootWidth) / pixelWidth;
}

/** Lays the tree out: drops narrow frames, coalesces their runs, and finds the drawn depth. */
export function layoutFrames(tree: FrameTree, rootWidth: number, minUnits: number): Layout {
  const { depth, start, width, end, delta } = tree;
  const frames: DrawnFrame[] = [
    { node: 0, name: tree.name(0), depth: 0, start: 0, width: rootWidth, delta: 0, hidden: 0 },
  ];
  let dropped = 0;
  let maxDepth = 0;
  // The open run of adjacent dropped siblings.
  let runDepth = -1;
  let runStart = 0;
  let runEnd = 0;
  let runCount = 0;
  const flush = () => {
    if (runCount > 1 && runEnd - runStart >= minUnits) {
      frames.push({
        node: -1,
        name: "",
        depth: runDepth,
        start: runStart,
        width: runEnd - runStart,
        delta: 0,
        hidden: runCount,
      });
      if (runDepth > maxDepth) maxDepth = runDepth;
    }
    runDepth = -1;
    runCount = 0;
  };

  let i = 1;
  const n = tree.size;
  while (i < n) {
    const d = depth[i];
    if (width[i] < minUnits || width[i] <= 0) {
      dropped += end[i] - i;
      if (runDepth === d && runEnd === start[i]) {
        runEnd += width[i];
        runCount++;
      } else {
        flush();
        runDepth = d;
        runStart = start[i];
        runEnd = start[i] + width[i];
        runCount = 1;
      }
      i = end[i];
      continue;
    }
    if (runDepth !== -1) flush();
    frames.push({
      node: i,
      name: tree.name(i),
      depth: d,
      start: start[i],
      width: width[i],
      delta: delta ? delta[i] : 0,
      hidden: 0,
    });
    if (d > maxDepth) maxDepth = d;
    i++;
  }
  if (runDepth !== -1) flush();
  return { frames, dropped, maxDepth, rootWidth, minUnits };
}
