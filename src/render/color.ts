/**
 * Frame colours: palettes (flamegraph.pl's and inferno's families, formulas of our own), a
 * default that is stable per function name (so two graphs of one program match), the weighted
 * name hash of `--hash`, `--random`, palette.map files, and differential red/blue.
 */
import type { Palette } from "./mod.ts";

/** An RGB colour, each channel 0..255. */
export type Rgb = [number, number, number];

/** How the three random-looking values of a name are made. */
export type ColorMode = "stable" | "hash" | "random";

/** The base colour families the palettes pick from. */
type Family =
  | "hot"
  | "mem"
  | "io"
  | "red"
  | "green"
  | "blue"
  | "aqua"
  | "yellow"
  | "purple"
  | "orange";

const DIGITS = "0123456789abcdef";
/** Two hex digits for each byte (a radix conversion per channel costs a runtime call). */
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => DIGITS[i >> 4] + DIGITS[i & 15]);

/** A channel value as two hex digits, rounded and clamped to 0..255. */
function channel(v: number): string {
  return HEX_BYTE[Math.max(0, Math.min(255, Math.round(v)))];
}

/** `#rrggbb` for a colour. */
export function hex(rgb: Rgb): string {
  // Indexing, not destructuring: cold code runs a destructured array through the iterator
  // protocol.
  return `#${channel(rgb[0])}${channel(rgb[1])}${channel(rgb[2])}`;
}

/** `rgb(r,g,b)`, the palette.map form. */
export function rgbText([r, g, b]: Rgb): string {
  return `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
}

/** Parses `rgb(r,g,b)` or `#rrggbb`; undefined if it is neither. */
export function parseColor(text: string): Rgb | undefined {
  const m = /^\s*rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)\s*$/.exec(text);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])];
  const h = /^\s*#([0-9a-fA-F]{6})\s*$/.exec(text);
  if (h) {
    const v = parseInt(h[1], 16);
    return [v >> 16, (v >> 8) & 255, v & 255];
  }
  return undefined;
}

/**
 * Three values in [0, 1) that depend only on `name`: FNV-1a over its UTF-16 units, then three
 * rounds of a 32-bit mixer. The same function gets the same colour in every graph.
 */
export function stableValues(name: string): [number, number, number] {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h = mix(h);
  const v1 = (h >>> 0) / 4294967296;
  h = mix(h);
  const v2 = (h >>> 0) / 4294967296;
  h = mix(h);
  return [v1, v2, (h >>> 0) / 4294967296];
}

/** One round of a 32-bit mixer (murmur3's finalizer). */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * flamegraph.pl's `--hash` weighting: the first three characters (after any module prefix up
 * to a backtick) decide, each weighing 0.7 of the one before, so similar names get similar
 * colours. Returns a value in [0, 1].
 */
export function weightedNameHash(name: string): number {
  const tick = name.indexOf("`");
  const s = tick === -1 ? name : name.slice(tick + 1);
  let vector = 0;
  let weight = 1;
  let max = 1;
  let mod = 10;
  for (let i = 0; i < s.length && i < 3; i++) {
    const v = s.charCodeAt(i) % mod;
    vector += (v / (mod - 1)) * weight;
    mod++;
    max += weight;
    weight *= 0.7;
  }
  return 1 - vector / max;
}

/** The three values for `name` in the given mode. */
export function nameValues(name: string, mode: ColorMode): [number, number, number] {
  if (mode === "random") return [Math.random(), Math.random(), Math.random()];
  if (mode === "hash") {
    const v1 = weightedNameHash(name);
    const v2 = weightedNameHash([...name].reverse().join(""));
    return [v1, v2, v2];
  }
  return stableValues(name);
}

/** A colour of a family from three values in [0, 1). */
export function familyColor(family: Family, v: [number, number, number]): Rgb {
  const v1 = v[0];
  const v2 = v[1];
  const v3 = v[2];
  switch (family) {
    case "hot":
      return [205 + 50 * v3, 230 * v1, 55 * v2];
    case "mem":
      return [0, 190 + 50 * v2, 210 * v1];
    case "io":
      return [80 + 60 * v1, 80 + 60 * v1, 190 + 55 * v2];
    case "red":
      return [200 + 55 * v1, 50 + 80 * v1, 50 + 80 * v1];
    case "green":
      return [50 + 60 * v1, 200 + 55 * v1, 50 + 60 * v1];
    case "blue":
      return [80 + 60 * v1, 80 + 60 * v1, 205 + 50 * v1];
    case "yellow":
      return [175 + 55 * v1, 175 + 55 * v1, 50 + 20 * v1];
    case "purple":
      return [190 + 65 * v1, 80 + 60 * v1, 190 + 65 * v1];
    case "aqua":
      return [50 + 60 * v1, 165 + 55 * v1, 165 + 55 * v1];
    case "orange":
      return [190 + 65 * v1, 90 + 65 * v1, 0];
  }
}

/** Where a JavaScript frame flame named is: `fib (x.js:3)` → `x.js`. */
const JS_NAMED = /\((node:[^()]*|[^()]*\.(?:[cm]?[jt]sx?))(?::\d+)?\)$/;

const JAVA_PACKAGE = /^L?(?:java|javax|jdk|net|org|com|io|sun)\//;
const PY_STDLIB = /python\d+(?:\.\d+)?\/|<built-in|<frozen|<method/;

/** Which family a name falls in under a palette (semantic palettes look at the name). */
export function familyFor(palette: Palette, name: string): Family {
  switch (palette) {
    case "hot":
    case "mem":
    case "io":
    case "red":
    case "green":
    case "blue":
    case "aqua":
    case "yellow":
    case "purple":
    case "orange":
      return palette;
    case "wakeup":
      return "aqua";
    case "chain":
      return name.endsWith("_[w]") ? "aqua" : "blue";
    case "java":
      if (name.endsWith("_[j]")) return "green";
      if (name.endsWith("_[i]")) return "aqua";
      if (name.endsWith("_[k]")) return "orange";
      if (JAVA_PACKAGE.test(name) || name.includes(":::")) return "green";
      if (name.includes("::") || /^[-+]\[/.test(name)) return "yellow";
      return "red";
    case "js": {
      if (name.endsWith("_[j]")) return name.includes("/") ? "green" : "aqua";
      if (name.endsWith("_[k]")) return "orange";
      // flame's own names: `fib (x.js:3)`, a package's `f (lodash/index.js:9)`, `(node:...)`.
      const where = JS_NAMED.exec(name)?.[1];
      if (where !== undefined) {
        return where.startsWith("node:") ? "aqua" : where.includes("/") ? "purple" : "green";
      }
      if (name.includes("node_modules/")) return "purple";
      if (name.includes("::")) return "yellow";
      if (/\/.*\.[cm]?js\b/.test(name) || name === " ") return "green";
      if (name.includes(":")) return "aqua";
      return "red";
    }
    case "perl":
      if (name.endsWith("_[k]")) return "orange";
      if (name.includes("::")) return "yellow";
      if (name.includes("Perl") || name.includes(".pl")) return "green";
      return "red";
    case "python":
      if (name.endsWith("_[k]")) return "orange";
      if (name.includes("site-packages")) return "aqua";
      if (PY_STDLIB.test(name)) return "yellow";
      if (name.startsWith("py::") || /\.py\b/.test(name)) return "green";
      return "red";
    case "rust": {
      const tick = name.indexOf("`");
      const s = tick === -1 ? name : name.slice(tick + 1);
      if (/^<?(?:core|std|alloc)::/.test(s) && !s.includes("GenFuture")) return "orange";
      if (s.includes("::")) return "aqua";
      return "yellow";
    }
  }
}

/** The default background for a palette, as flamegraph.pl picks it. */
export function defaultBackground(palette: Palette): string {
  if (palette === "mem") return "green";
  if (palette === "io" || palette === "wakeup" || palette === "chain") return "blue";
  if (palette === "hot" || palette === "java" || palette === "js" || palette === "perl") {
    return "yellow";
  }
  if (palette === "python" || palette === "rust") return "yellow";
  return "grey";
}

/** The colour of a frame named `name` (its full name, annotations included). */
export function frameColor(name: string, palette: Palette, mode: ColorMode): Rgb {
  if (name === "--") return [160, 160, 160];
  if (name === "-") return [200, 200, 200];
  return familyColor(familyFor(palette, name), nameValues(name, mode));
}

/**
 * Differential colour for a self delta `d` against the largest |delta| `max`: red when it
 * grew, blue when it shrank, deeper the larger the change, white when unchanged.
 */
export function diffColor(d: number, max: number, negate = false): Rgb {
  const delta = negate ? -d : d;
  if (delta === 0 || max === 0) return [255, 255, 255];
  const fade = Math.round((210 * (max - Math.abs(delta))) / max);
  return delta > 0 ? [255, fade, fade] : [fade, fade, 255];
}

/** Reads a palette.map (`name->rgb(r,g,b)` lines); bad lines are skipped. */
export function parsePaletteMap(text: string): Map<string, Rgb> {
  const map = new Map<string, Rgb>();
  for (const line of text.split(/\r?\n/)) {
    const arrow = line.lastIndexOf("->");
    if (arrow <= 0) continue;
    const rgb = parseColor(line.slice(arrow + 2));
    if (rgb) map.set(line.slice(0, arrow), rgb);
  }
  return map;
}

/** Writes a palette.map, sorted by name. */
export function formatPaletteMap(map: Map<string, Rgb>): string {
  const names = [...map.keys()].sort();
  return names.map((n) => `${n}->${rgbText(map.get(n)!)}\n`).join("");
}

/**
 * Colours frames by name, each name computed once. With a palette map, mapped names keep their
 * colour and new names are added to the map.
 */
export class Colorizer {
  #cache = new Map<string, string>();
  constructor(
    readonly palette: Palette,
    readonly mode: ColorMode,
    readonly paletteMap?: Map<string, Rgb>,
  ) {}

  /** `#rrggbb` for a frame name. */
  color(name: string): string {
    let c = this.#cache.get(name);
    if (c === undefined) {
      let rgb = this.paletteMap?.get(name);
      if (!rgb) {
        rgb = frameColor(name, this.palette, this.mode);
        this.paletteMap?.set(name, rgb.map(Math.round) as Rgb);
      }
      c = hex(rgb);
      this.#cache.set(name, c);
    }
    return c;
  }
}
