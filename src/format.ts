/** Number formatting shared by every stage (no ICU: its first call costs tens of milliseconds). */

/** An integer with thousands separators, as `toLocaleString("en-US")` writes it: `5,858,839,863`. */
export function groupDigits(n: number): string {
  const s = String(Math.abs(Math.trunc(n)));
  let grouped = s;
  for (let i = s.length - 3; i > 0; i -= 3) grouped = `${grouped.slice(0, i)},${grouped.slice(i)}`;
  return n < 0 ? "-" + grouped : grouped;
}

const BINARY_UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** Bytes in binary units with three significant digits: `512 bytes`, `1.50 KiB`, `5.46 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || Math.abs(n) < 1024) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  let unit = 0;
  let v = Math.abs(n);
  while (v >= 1024 && unit < BINARY_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${n < 0 ? "-" : ""}${v.toFixed(digits)} ${BINARY_UNITS[unit]}`;
}

/** `n word` with the word in the plural unless n is 1: `1 entry`, `3 entries`. */
export function plural(n: number, one: string, many = one + "s"): string {
  return `${groupDigits(n)} ${n === 1 ? one : many}`;
}

/** Quotes a word for a shell, where it needs it. */
export function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Characters of a command shown in titles and messages. */
const LABEL_CHARS = 60;

/** Text on one line: whitespace runs become one space, and past `max` characters an ellipsis. */
export function oneLine(text: string, max = LABEL_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1).trimEnd()}…`;
}

/**
 * A command line for a title or a message: quoted as for a shell, on one line (a `python3 -c`
 * program's newlines would break both), and shortened.
 */
export function commandLabel(argv: string[]): string {
  return isolate(oneLine(argv.map((arg) => quote(arg.replace(/\s+/g, " ").trim())).join(" ")));
}

/**
 * Bidi controls and right-to-left letters (Hebrew, Arabic, Syriac, Thaana, NKo, ..., and their
 * astral blocks): what can reorder text next to it. Other characters cannot.
 */
export const BIDI_SENSITIVE =
  /[\u0590-\u08ff\u200e\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufefc\ud802\ud803\ud83a\ud83b]/;

/**
 * Isolates a name shown next to other text (FSI ... PDI) when it holds a bidi control or a
 * right-to-left letter: those then reorder only the name, never the text around it (a
 * right-to-left override would otherwise reverse "(N samples, P%)" after it). Other names are
 * returned as they are.
 */
export function isolate(name: string): string {
  return BIDI_SENSITIVE.test(name) ? `\u2068${name}\u2069` : name;
}

/**
 * Rows of cells as lines of a table: every column but the last right-aligned to its widest
 * cell, columns two spaces apart (the last, a name, is left as it is).
 */
export function tableLines(rows: readonly string[][]): string[] {
  const columns = rows[0]?.length ?? 0;
  const widths = Array.from(
    { length: Math.max(0, columns - 1) },
    (_, i) => Math.max(...rows.map((r) => r[i].length)),
  );
  return rows.map((r) => [...widths.map((w, i) => r[i].padStart(w)), r[columns - 1]].join("  "));
}
