/**
 * Recognising the lines of `perf script` output exactly as stackcollapse-perf.pl's regular
 * expressions do, without their worst-case backtracking: event headers
 * (`comm pid/tid [cpu] time: period event:`), frame lines (`addr symbol+0xoff (module)`), and
 * the one-line samples perf prints without call chains (`comm tid time: period event:  addr
 * symbol (module)`).
 *
 * "Whitespace" means what Perl's `\s` means on bytes: space, tab, LF, VT, FF, CR.
 */

/** Perl's `\s` on bytes. */
export function isPerlSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Perl's `\w` on bytes: `[A-Za-z0-9_]`. */
function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** What an event header names. */
export interface EventHeader {
  comm: string;
  /** `?` when perf printed only one number (the thread id). */
  pid: string;
  tid: string;
}

/**
 * The same, for a one-line sample: the event name is followed by whitespace and a frame that
 * starts with a hexadecimal address.
 */
const EVENT_THEN_FRAME =
  /:[ \t\n\v\f\r]*(\d+)?[ \t\n\v\f\r]+([^ \t\n\v\f\r]+?):[ \t\n\v\f\r]+(?=[0-9a-fA-F]+[ \t\n\v\f\r])/;

/** True for an ASCII digit. */
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * Parses the start of an event header, or returns undefined when `line` is not one. This is
 * Perl's `^(\S.+?)\s+(\d+)\/*(\d+)*\s+`, scanned by hand: the process name is the shortest
 * text (2 characters at least) followed by whitespace, a word of digits or `pid/tid`, and
 * whitespace. The result depends on `line[0, end)` alone: any line that starts with that text
 * has the same head.
 */
export function parseEventHead(line: string): (EventHeader & { end: number }) | undefined {
  const n = line.length;
  if (n === 0 || isPerlSpace(line.charCodeAt(0))) return undefined;
  for (let k = 2; k < n; k++) {
    if (!isPerlSpace(line.charCodeAt(k))) continue;
    let i = k;
    while (i < n && isPerlSpace(line.charCodeAt(i))) i++;
    const pidStart = i;
    while (i < n && isDigit(line.charCodeAt(i))) i++;
    if (i === pidStart) {
      k = i - 1; // no digits after these spaces: go on after them
      continue;
    }
    const pidEnd = i;
    while (i < n && line.charCodeAt(i) === 47 /* / */) i++;
    const tidStart = i;
    while (i < n && isDigit(line.charCodeAt(i))) i++;
    const tidEnd = i;
    if (i === n || !isPerlSpace(line.charCodeAt(i))) {
      k = pidStart - 1; // the digits are not a word of their own: go on after the spaces
      continue;
    }
    while (i < n && isPerlSpace(line.charCodeAt(i))) i++;
    let pid = line.slice(pidStart, pidEnd);
    let tid = tidEnd > tidStart ? line.slice(tidStart, tidEnd) : undefined;
    // Perl's `if (not $tid)`: a missing tid, and also a tid of "0", means "only one number".
    if (tid === undefined || tid === "0") {
      tid = pid;
      pid = "?";
    }
    return { comm: line.slice(0, k), pid, tid, end: i };
  }
  return undefined;
}

/** The event name and period at the end of a header line. */
export interface EventTail {
  event: string;
  /** The period as printed, or undefined. */
  period?: string;
}

/**
 * Parses the `period event:` end of a header line, or returns undefined. This is Perl's
 * `:\s*(\d+)*\s+(\S+):\s*$`, scanned backwards by hand: the line ends with a word whose last
 * character is `:` (the event name is the word without it, so `cycles:u:` names `cycles:u`),
 * and before it come whitespace, an optional period, optional whitespace and a `:`. `start` is
 * where that `:` is; the result depends on `line[start, ...)` alone: any line that ends with
 * that text has the same tail.
 */
export function parseEventTail(line: string): (EventTail & { start: number }) | undefined {
  let e = line.length - 1;
  while (e >= 0 && isPerlSpace(line.charCodeAt(e))) e--;
  if (e < 0 || line.charCodeAt(e) !== 58 /* : */) return undefined;
  let t = e;
  while (t > 0 && !isPerlSpace(line.charCodeAt(t - 1))) t--;
  if (t === e) return undefined;
  let j = t;
  while (j > 0 && isPerlSpace(line.charCodeAt(j - 1))) j--;
  if (j === t) return undefined;
  let d = j;
  while (d > 0 && isDigit(line.charCodeAt(d - 1))) d--;
  let colon = d;
  if (d < j) {
    while (colon > 0 && isPerlSpace(line.charCodeAt(colon - 1))) colon--;
  }
  if (colon === 0 || line.charCodeAt(colon - 1) !== 58) return undefined;
  const period = d < j ? line.slice(d, j) : undefined;
  return { event: line.slice(t, e), period, start: colon - 1 };
}

/**
 * Perl's reading of a period: a missing or false one (`""`, `"0"`) counts 1. A period too
 * large for a double stays as close as a double gets, as in Perl.
 */
export function periodValue(period: string | undefined): number {
  if (period === undefined || period === "" || period === "0") return 1;
  return Number(period);
}

/** A one-line sample: a header and the single frame perf printed after it. */
export interface OneLineSample extends EventHeader, EventTail {
  frame: FrameLine;
}

/**
 * Parses a one-line sample (what `perf script` prints for samples without a call chain; the
 * process name is right-aligned, so the line may start with spaces), or returns undefined.
 */
export function parseOneLineSample(line: string): OneLineSample | undefined {
  let start = 0;
  while (start < line.length && isPerlSpace(line.charCodeAt(start))) start++;
  const text = start === 0 ? line : line.slice(start);
  const head = parseEventHead(text);
  if (head === undefined) return undefined;
  const rest = text.slice(head.end);
  const m = EVENT_THEN_FRAME.exec(rest);
  if (m === null) return undefined;
  const frame = parseFrameLine(rest.slice(m.index + m[0].length));
  if (frame === undefined) return undefined;
  return { comm: head.comm, pid: head.pid, tid: head.tid, event: m[2], period: m[1], frame };
}

/** The parts of a frame line. */
export interface FrameLine {
  pc: string;
  /** The symbol as printed, `+0x` offset included; `" "` when perf printed none. */
  sym: string;
  module: string;
}

/**
 * Parses a frame line with the meaning of Perl's `^\s*(\w+)\s*(.+) \((.*)\)`, in linear time:
 * the module is the text between the last ` (` that has a `)` after it and the last `)`; the
 * address is the leading word; the symbol is what lies between. Returns undefined when the
 * expression would not match.
 */
export function parseFrameLine(line: string): FrameLine | undefined {
  const close = line.lastIndexOf(")");
  if (close < 2) return undefined;
  const open = line.lastIndexOf(" (", close - 2);
  if (open === -1) return undefined;
  let a = 0;
  while (a < line.length && isPerlSpace(line.charCodeAt(a))) a++;
  let b = a;
  while (b < line.length && isWordChar(line.charCodeAt(b))) b++;
  if (b === a) return undefined;
  let c = b;
  while (c < line.length && isPerlSpace(line.charCodeAt(c))) c++;
  const module = line.slice(open + 2, close);
  if (open > c) return { pc: line.slice(a, b), sym: line.slice(c, open), module };
  // No symbol text between the address and ` (`: the regex backtracks, and the symbol becomes
  // the one character before ` (` (a space when there are two, `7f12  (/lib/x.so)` → " ").
  if (open >= b + 1) return { pc: line.slice(a, b), sym: line.slice(open - 1, open), module };
  if (open - 1 >= a + 1) {
    return { pc: line.slice(a, open - 1), sym: line.slice(open - 1, open), module };
  }
  return undefined;
}

/**
 * Where the address of the tab-indented frame line `text[p, q)` ends, when the text after it
 * alone decides what {@link parseFrameLine} makes of the line (all but `pc`); else -1. It does
 * not when there is no address, or when ` (` follows the address at once (then the symbol is
 * the address's last character, as Perl's regex backtracks). A tab also rules out a one-line
 * sample, whose process name is right-aligned with spaces.
 */
export function addressEnd(text: string, p: number, q: number): number {
  if (text.charCodeAt(p) !== 9) return -1;
  let a = p + 1;
  while (a < q && text.charCodeAt(a) === 32) a++; // perf pads with spaces: the fast case
  while (a < q && isPerlSpace(text.charCodeAt(a))) a++;
  let b = a;
  while (b < q && isWordChar(text.charCodeAt(b))) b++;
  if (b === a || (text.charCodeAt(b) === 32 && text.charCodeAt(b + 1) === 40)) return -1;
  return b;
}

/**
 * A frame line printed without its module: what perf 6.x prints for an inlined frame with
 * `-F+srcline` (`addr symbol`, then `  file.c:3 (inlined)` on the next line).
 */
export function parseBareFrameLine(line: string): { pc: string; sym: string } | undefined {
  const m = /^[ \t\n\v\f\r]*([0-9a-fA-F]+)[ \t\n\v\f\r]+([^ \t\n\v\f\r][^]*)$/.exec(line);
  if (m === null || m[2].includes(" (")) return undefined;
  return { pc: m[1], sym: m[2].trimEnd() };
}

/**
 * True for a line that could be a one-line sample (a cheap test before the parser). perf indents
 * frame lines with a tab and right-aligns process names with spaces, so a tab rules one out.
 */
function mayBeOneLineSample(line: string): boolean {
  return line.charCodeAt(0) !== 9 && (line.includes(": ") || line.includes(":\t"));
}

/** The one-line sample `text` is, if it is one (the cheap test first). */
export function oneLineSample(text: string): OneLineSample | undefined {
  return mayBeOneLineSample(text) ? parseOneLineSample(text) : undefined;
}
