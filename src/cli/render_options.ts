/**
 * The render options every drawing command shares (flamegraph.pl's names), their parsing and
 * their help text.
 */
import {
  type MinWidth,
  type Palette,
  PALETTES,
  renderOptionProblem,
  type RenderOptions,
} from "../render/mod.ts";
import { numberOption, type OptionSpec, type OptionValue } from "./args.ts";
import { UsageError } from "../errors.ts";

/** The node:util parseArgs table of the render options (long names only, so they never clash). */
export const RENDER_OPTIONS: OptionSpec = {
  title: { type: "string" },
  subtitle: { type: "string" },
  width: { type: "string" },
  height: { type: "string" },
  minwidth: { type: "string" },
  fonttype: { type: "string" },
  fontsize: { type: "string" },
  fontwidth: { type: "string" },
  countname: { type: "string" },
  nametype: { type: "string" },
  colors: { type: "string" },
  color: { type: "string" },
  palette: { type: "string" },
  bgcolors: { type: "string" },
  hash: { type: "boolean" },
  random: { type: "boolean" },
  cp: { type: "boolean" },
  reverse: { type: "boolean" },
  inverted: { type: "boolean" },
  flamechart: { type: "boolean" },
  negate: { type: "boolean" },
  notes: { type: "string" },
  factor: { type: "string" },
  total: { type: "string" },
};

/** The render options' lines for a command's `--help`. */
export const RENDER_OPTIONS_HELP = `Graph options (flamegraph.pl's names and defaults):
  --title TEXT        heading (Flame Graph; Icicle Graph with --inverted)
  --subtitle TEXT     second heading line
  --width PX          image width (default: fluid, fills the browser window)
  --height PX         frame height (16)
  --minwidth PX|N%    hide frames narrower than PX pixels or N% of the total (0.1);
                      the number hidden is shown in the graph
  --fonttype FONT     font family (Verdana)
  --fontsize PX       font size (12)
  --fontwidth RATIO   average glyph width / font size, for fitting labels (0.59)
  --countname WORD    what a count is, in tooltips (samples); "bytes" shows KiB/MiB/GiB,
                      "ns" shows time (ms, s)
  --nametype TEXT     prefix of the details line (Function:)
  --colors PALETTE    hot (default), mem, io, wakeup, chain, java, js, perl, python, rust,
                      red, green, blue, aqua, yellow, purple, orange (alias --palette)
  --bgcolors COLOR    background: yellow, blue, green, grey or #rrggbb
  --hash              colours from flamegraph.pl's weighted name hash
  --random            random colours
  --cp                consistent palette: reuse and update ./palette.map
  --reverse           reverse the stacks (merge from the leaf)
  --inverted          icicle graph (root at the top)
  --flamechart        keep input order: x is time when the input is time-ordered
  --negate            differential: swap red (grew) and blue (shrank)
  --notes TEXT        text for a comment in the SVG
  --factor N          multiply counts shown in tooltips (1)
  --total N           draw the root as if the counts summed to N`;

/**
 * Turns parsed render options into RenderOptions, checking numbers, palettes and colours.
 * Throws a UsageError naming the option and `command` when a value is wrong.
 */
export function renderOptionsFrom(
  command: string,
  values: Record<string, unknown>,
): Partial<RenderOptions> {
  const v = values as Record<string, OptionValue>;
  const out: Partial<RenderOptions> = {};
  const str = (name: string): string | undefined => {
    const x = v[name];
    if (Array.isArray(x)) return x.length ? String(x[x.length - 1]) : undefined;
    return typeof x === "string" ? x : undefined;
  };
  const num = (name: string, opts: { min?: number; integer?: boolean } = {}) =>
    numberOption(command, name, str(name), opts);
  const usage = (message: string) =>
    new UsageError(`${command}: ${message}`, `run 'flame ${command} --help' for the options`);

  if (str("title") !== undefined) out.title = str("title");
  if (str("subtitle") !== undefined) out.subtitle = str("subtitle");
  if (str("width") !== undefined) out.width = num("width", { min: 50 });
  if (str("height") !== undefined) out.height = num("height", { min: 2 });
  const minWidth = str("minwidth");
  if (minWidth !== undefined) out.minWidth = parseMinWidth(minWidth, usage);
  if (str("fonttype") !== undefined) out.fontType = str("fonttype");
  if (str("fontsize") !== undefined) out.fontSize = num("fontsize", { min: 1 });
  if (str("fontwidth") !== undefined) out.fontWidth = num("fontwidth", { min: 0.01 });
  if (str("countname") !== undefined) out.countName = str("countname");
  if (str("nametype") !== undefined) out.nameType = str("nametype");
  const palette = str("colors") ?? str("palette") ?? str("color");
  if (palette !== undefined) {
    if (!(PALETTES as readonly string[]).includes(palette)) {
      throw usage(`unknown palette '${palette}' (one of: ${PALETTES.join(", ")})`);
    }
    out.colors = palette as Palette;
  }
  if (str("bgcolors") !== undefined) out.bgColors = str("bgcolors");
  for (const flag of ["hash", "random", "reverse", "inverted", "flamechart", "negate"] as const) {
    if (v[flag] === true) out[flag] = true;
  }
  if (v.cp === true) out.cp = true;
  if (str("notes") !== undefined) out.notes = str("notes");
  if (str("factor") !== undefined) out.factor = num("factor");
  if (str("total") !== undefined) out.total = num("total", { min: 0 });
  // Checked now, not when drawing: a capture must not fail after recording for a bad font.
  const problem = renderOptionProblem(out);
  if (problem) throw usage(problem);
  return out;
}

/** Parses `PX` or `N%` for --minwidth. */
function parseMinWidth(text: string, usage: (m: string) => Error): MinWidth {
  const pct = text.endsWith("%");
  const body = pct ? text.slice(0, -1) : text;
  const n = Number(body);
  if (body.trim() === "" || !Number.isFinite(n) || n < 0 || (pct && n > 100)) {
    throw usage(`--minwidth wants pixels or a percentage like 0.5%, got '${text}'`);
  }
  return pct ? `${n}%` : n;
}
