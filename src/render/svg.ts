/**
 * Writing the SVG document. Frames are `<rect>`s inside a nested `<svg>` whose viewBox is in
 * count units, so each rect carries integer sample positions (exact zoom at any width), renders
 * at any size without script, and zooming is one viewBox change. A frame is one element: its
 * name is the `t` attribute (a `<title>` child per frame doubles the DOM and the load time).
 * Labels live in their own layer (text must not be stretched), fitted here for the nominal
 * width and re-fitted by the script.
 */
import { BROWSER_SCRIPT } from "./browser_script.ts";
import { commentSafe, cssFontFamilies, endsGeneric, escapeXml, isolate } from "./escape.ts";
import { type DrawnFrame, GRID, type Layout, XPAD } from "./layout.ts";
import type { Units } from "./mod.ts";

/** How the in-browser script is told the count unit (`b` in its config). */
const UNIT_CODES: Record<Units, number> = { count: 0, bytes: 1, ns: 2 };

/** Everything the document needs besides the frames. */
export interface DocumentSpec {
  title: string;
  subtitle: string;
  /** Fixed width in px, or undefined for fluid. */
  width: number | undefined;
  /** The width laid out for: the fixed width, or the nominal fluid width. */
  layoutWidth: number;
  frameHeight: number;
  fontType: string;
  fontSize: number;
  fontWidth: number;
  countName: string;
  nameType: string;
  units: Units;
  inverted: boolean;
  differential: boolean;
  factor: number;
  /** Counts are `units * gcd / pow10`. */
  pow10: number;
  gcd: number;
  notes: string;
  /** Background: a gradient name or a flat colour. */
  background: string;
  /** The idle text of the details line (the dropped-frames note), or "". */
  note: string;
  /**
   * The `#rrggbb` fill of a drawn frame (not a hidden-frames bar). Outside differentials it may
   * depend only on the name: it is asked once per name.
   */
  fill(frame: DrawnFrame): string;
}

const GRADIENTS: Record<string, [string, string]> = {
  yellow: ["#eeeeee", "#eeeeb0"],
  blue: ["#eeeeee", "#e0e0ff"],
  green: ["#eef2ee", "#e0ffe0"],
  grey: ["#f8f8f8", "#e8e8e8"],
  gray: ["#f8f8f8", "#e8e8e8"],
};

/** Vertical layout of the document, px. */
export interface Geometry {
  /** Top of the frames area. */
  top: number;
  /** Height of the frames area. */
  framesHeight: number;
  /** Whole image height. */
  height: number;
  /** Baseline of the title row. */
  titleY: number;
  /** Baseline of the details row. */
  detailsY: number;
}

/** Computes where the title, frames and details line go. */
export function geometry(spec: DocumentSpec, maxDepth: number): Geometry {
  const fs = spec.fontSize;
  const top = fs * 3 + (spec.subtitle ? fs * 2 : 0);
  const framesHeight = (maxDepth + 1) * spec.frameHeight;
  const bottom = fs * 2 + 10;
  const height = top + framesHeight + bottom;
  return { top, framesHeight, height, titleY: fs * 2, detailsY: height - bottom / 2 + fs / 3 };
}

/** A number rounded to hundredths, as it is written (integers stay as they are). */
function round2(n: number): number {
  return Number.isInteger(n) ? n : Math.round(n * 100) / 100;
}

/** A number as short as it can be written. */
function num(n: number): string {
  return String(round2(n));
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * A cut name with ".." after it. A cut that can reorder text (bidi controls, right-to-left
 * letters) is isolated (FSI ... PDI) so the ".." stays at its end.
 */
function cut(prefix: string): string {
  return isolate(prefix) + "..";
}

/**
 * The label that fits `px` pixels at build time (flamegraph.pl's estimate), or "". Names are
 * cut between code points, never inside one.
 */
export function fitLabel(name: string, px: number, fontSize: number, fontWidth: number): string {
  const chars = Math.floor((px - 6) / (fontSize * fontWidth));
  if (chars < 3) return "";
  if (name.length <= chars) return name;
  // Without surrogate pairs, UTF-16 units are code points: no array of them needed.
  if (!SURROGATE.test(name)) return cut(name.slice(0, chars - 2));
  const cps = Array.from(name);
  if (cps.length <= chars) return name;
  return cut(cps.slice(0, chars - 2).join(""));
}

/** Strips a trailing `_[k]`-style annotation (kernel, jit, inline, waker) for display. */
export function displayName(name: string): string {
  return name.length > 4 && name.charCodeAt(name.length - 1) === 93 /* ] */ &&
      /_\[[kjiw]\]$/.test(name)
    ? name.slice(0, -4)
    : name;
}

/** The hidden-frames bar's name. */
export function hiddenName(count: number): string {
  return `${count} frames too narrow to draw`;
}

/**
 * The CSS font family: the given list (as `cssFontFamilies` writes it, Verdana when it is not
 * one; renderSvg refuses those first), with a generic fallback so labels never turn serif.
 */
export function fontFamily(fontType: string): string {
  const font = cssFontFamilies(fontType) ?? '"Verdana"';
  return endsGeneric(font) ? font : `${font}, sans-serif`;
}

function styleSheet(spec: DocumentSpec): string {
  const font = fontFamily(spec.fontType);
  const fs = spec.fontSize;
  return `text{font-family:${font};font-size:${fs}px;fill:#000}
#title{font-size:${fs + 5}px;text-anchor:middle}
#subtitle{text-anchor:middle;fill:#555}
#matched,#search,#ic{text-anchor:end}
#unzoom,#search,#ic{cursor:pointer;opacity:.6}
#unzoom:hover,#search:hover,#ic:hover{opacity:1}
#ic.on{font-weight:bold;opacity:1}
#frames rect{cursor:pointer;stroke-width:1;vector-effect:non-scaling-stroke}
#frames .s{stroke:#fff;stroke-opacity:.6}
#frames rect:hover{stroke:#000;stroke-opacity:1}
#frames .m{fill:#e600e6}
#frames .h{fill:#c8c8c8}
#labels,#tip{pointer-events:none}
#tip rect{fill:#fffff4;stroke:#999;stroke-width:.5}
#tip .n{font-weight:bold}
.p{opacity:.5}
.hide{display:none}
input{font:${fs}px ${font};width:100%;box-sizing:border-box;padding:2px 6px;border:1px solid #888;border-radius:3px}
@media (prefers-color-scheme:dark){
#bgr{fill:#1c1d21}
text{fill:#d8d8d8}
#subtitle{fill:#a0a0a0}
#labels text{fill:#000}
#frames .h{fill:#8c8c8c}
#frames .s{stroke:#1c1d21}
#frames rect:hover{stroke:#fff}
#tip rect{fill:#2a2b30;stroke:#666}
:root{background:#1c1d21}
input{background:#2a2b30;color:#e0e0e0;border-color:#555}
}`;
}

/**
 * Grid units per count unit. Browsers keep SVG geometry in float32 and clamp lengths near 2^25,
 * so positions above 2^24 are rescaled onto a 2^24 grid. Each frame then also carries its exact
 * width in `e`, and in `g` any gap between it and where it would start if packed against its
 * previous sibling (or its parent's left edge): the script rebuilds exact positions from them.
 */
export function gridScale(rootWidth: number): number {
  return rootWidth <= GRID ? 1 : GRID / rootWidth;
}

/** The configuration the in-browser script reads, as JSON. */
function scriptConfig(spec: DocumentSpec, layout: Layout, g: Geometry): string {
  const q = gridScale(layout.rootWidth);
  return JSON.stringify({
    u: spec.pow10,
    g: spec.gcd,
    f: spec.factor,
    t: q === 1 ? layout.rootWidth : GRID,
    tu: layout.rootWidth,
    w: spec.width ?? 0,
    fh: spec.frameHeight,
    fs: spec.fontSize,
    fw: spec.fontWidth,
    font: fontFamily(spec.fontType),
    md: layout.maxDepth,
    top: g.top,
    inv: spec.inverted ? 1 : 0,
    c: spec.countName,
    nt: spec.nameType,
    b: UNIT_CODES[spec.units],
    d: spec.differential ? 1 : 0,
  });
}

/** Writes the whole document. */
export function writeDocument(spec: DocumentSpec, layout: Layout): string {
  const g = geometry(spec, layout.maxDepth);
  // One array of pieces (strings and numbers) and one join: no string per frame to build.
  const rects: (string | number)[] = [header(spec, layout, g)];
  const labels: (string | number)[] = [`</svg>\n<g id="labels">\n`];
  framesMarkup(spec, layout, g, rects, labels);
  labels.push(`</g>\n<script><![CDATA[\n${BROWSER_SCRIPT}\n]]></script>\n</svg>\n`);
  return rects.concat(labels).join("");
}

/** Everything before the first frame: root element, style, headings, buttons, frames viewport. */
function header(spec: DocumentSpec, layout: Layout, g: Geometry): string {
  const W = spec.layoutWidth;
  const fs = spec.fontSize;
  const h = num(g.height);
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n`];
  if (spec.notes) out.push(`<!-- NOTES: ${commentSafe(spec.notes)} -->\n`);
  const width = spec.width === undefined ? "100%" : String(W);
  const config = escapeXml(scriptConfig(spec, layout, g));
  out.push(
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" ` +
      `viewBox="0 0 ${W} ${h}" data-flame="${config}">\n`,
  );
  const gradient = GRADIENTS[spec.background];
  if (gradient) {
    out.push(
      `<defs><linearGradient id="bg" x2="0" y2="1"><stop offset="5%" stop-color="${
        gradient[0]
      }"/>` +
        `<stop offset="95%" stop-color="${gradient[1]}"/></linearGradient></defs>\n`,
    );
  }
  out.push(`<style>\n${styleSheet(spec)}\n</style>\n`);
  const bgFill = gradient ? "url(#bg)" : escapeXml(spec.background);
  const ty = num(g.titleY);
  const dy = num(g.detailsY);
  out.push(
    `<rect id="bgr" width="100%" height="100%" fill="${bgFill}"/>\n`,
    `<text id="title" x="50%" y="${ty}">${escapeXml(spec.title)}</text>\n`,
    spec.subtitle
      ? `<text id="subtitle" x="50%" y="${num(fs * 4)}">${escapeXml(spec.subtitle)}</text>\n`
      : "",
    `<text id="unzoom" class="hide" x="${XPAD}" y="${ty}">Reset Zoom</text>\n`,
    `<text id="search" x="100%" dx="-40" y="${ty}">Search</text>\n`,
    `<text id="ic" x="100%" dx="-${XPAD}" y="${ty}">ic</text>\n`,
    `<text id="details" x="${XPAD}" y="${dy}">${escapeXml(spec.note)}</text>\n`,
    `<text id="matched" x="100%" dx="-${XPAD}" y="${dy}"></text>\n`,
  );
  const gridRoot = gridScale(layout.rootWidth) === 1 ? layout.rootWidth : GRID;
  const fh = num(g.framesHeight);
  out.push(
    `<svg id="frames" x="${XPAD}" y="${num(g.top)}" width="${W - 2 * XPAD}" height="${fh}" ` +
      `viewBox="0 0 ${gridRoot} ${fh}" preserveAspectRatio="none">\n`,
  );
  return out.join("");
}

/** A frame name's markup, worked out once per name. */
interface NameMarkup {
  /** The name as shown (annotations stripped), to fit labels to. */
  display: string;
  /** The same, escaped. */
  safe: string;
  /** The attributes between the width and the name: height and fill (or class). */
  paint: string;
  /** The name attribute and the end of the rect. */
  close: string;
}

/**
 * The markup of each frame name. Outside differentials a frame's fill depends only on its name,
 * so the paint is kept with the name too.
 */
class NameMarkups {
  readonly #cache = new Map<string, NameMarkup>();
  readonly #height: string;
  readonly #spec: DocumentSpec;

  constructor(spec: DocumentSpec, height: string) {
    this.#spec = spec;
    this.#height = height;
  }

  /** The markup of frame `f`'s name. */
  get(f: DrawnFrame): NameMarkup {
    if (f.hidden) return this.#make(hiddenName(f.hidden), `${this.#height} class="h"`);
    let m = this.#cache.get(f.name);
    if (m === undefined) {
      const paint = this.#spec.differential ? "" : this.#paint(f);
      m = this.#make(displayName(f.name), paint);
      this.#cache.set(f.name, m);
    }
    return m;
  }

  /** The height and fill of a frame that is not a hidden-frames bar. */
  paintOf(f: DrawnFrame, m: NameMarkup): string {
    return this.#spec.differential ? this.#paint(f) : m.paint;
  }

  #paint(f: DrawnFrame): string {
    return `${this.#height} fill="${this.#spec.fill(f)}"`;
  }

  #make(display: string, paint: string): NameMarkup {
    const safe = escapeXml(display);
    return { display, safe, paint, close: ` t="${safe}"/>\n` };
  }
}

/**
 * Appends the frames' rects to `rects` and their build-time labels to `labels`, as few pieces
 * as the join allows (each costs it as much as a short string's bytes): what repeats by name
 * or by depth is one piece.
 */
function framesMarkup(
  spec: DocumentSpec,
  layout: Layout,
  g: Geometry,
  rects: (string | number)[],
  labels: (string | number)[],
): void {
  const fs = spec.fontSize;
  const fh = spec.frameHeight;
  const q = gridScale(layout.rootWidth);
  const pxPerUnit = (spec.layoutWidth - 2 * XPAD) / (q === 1 ? layout.rootWidth : GRID);
  const minLabelPx = fs * spec.fontWidth * 3 + 6;
  const baseline = fh / 2 + fs * 0.35;
  const { frames, maxDepth } = layout;
  const names = new NameMarkups(spec, `" height="${num(Math.max(1, fh - 1))}"`);
  const differential = spec.differential;
  const yOf = (depth: number) => spec.inverted ? depth * fh : (maxDepth - depth) * fh;
  // By depth: the rect's y and the start of its width; the label's y (made when first needed).
  const rows: string[] = [];
  for (let d = 0; d <= maxDepth; d++) rows.push(`" y="${yOf(d)}" width="`);
  const labelRows: string[] = [];
  // Grid mode: where the next child of the open frame at each depth would start if packed.
  const packed: number[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const d = f.depth;
    const m = names.get(f);
    let x = f.start;
    let w = f.width;
    let exact = "";
    if (q !== 1) {
      x = Math.round(f.start * q);
      w = Math.round((f.start + f.width) * q) - x; // may be 0: then only the script draws it
      exact = ` e="${f.width}"`;
      if (d > 0) {
        const gap = f.start - packed[d - 1];
        if (gap !== 0) exact += ` g="${gap}"`;
        packed[d - 1] = f.start + f.width;
      }
      packed[d] = f.start;
    }
    rects.push(`<rect x="`, x, rows[d], w, f.hidden ? m.paint : names.paintOf(f, m));
    if (exact) rects.push(exact);
    if (differential && f.delta !== 0) rects.push(` data-d="`, f.delta, `"`);
    rects.push(m.close);
    const px = w * pxPerUnit;
    if (px < minLabelPx) continue;
    const label = fitLabel(m.display, px, fs, spec.fontWidth);
    if (label) {
      labelRows[d] ??= `" y="${num(g.top + yOf(d) + baseline)}">`;
      const text = label === m.display ? m.safe : escapeXml(label);
      labels.push(`<text x="`, round2(XPAD + x * pxPerUnit + 3), labelRows[d], text, `</text>\n`);
    }
  }
}
