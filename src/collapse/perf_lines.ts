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
 * Perl's `^(\S.+?)\s+(\d+)\/*(\d+)*\s+`: the process name is the shortest text (2 characters
 * at least) followed by a word of digits, or `pid/tid`. `(\d+)*` is written `(\d+)?`: the same
 * matches, without exponential backtracking on long digit runs.
 */
const EVENT_HEAD = /^([^ \t\n\v\f\r][^]+?)[ \t\n\v\f\r]+(\d+)\/*(\d+)?[ \t\n\v\f\r]+/;

/**
 * Perl's `:\s*(\d+)*\s+(\S+):\s*$`: the period (optional) and the event name at the end of a
 * header. `cycles:u:` names the event `cycles:u`.
 */
const EVENT_TAIL = /:[ \t\n\v\f\r]*(\d+)?[ \t\n\v\f\r]+([^ \t\n\v\f\r]+):[ \t\n\v\f\r]*$/;

/**
 * The same, for a one-line sample: the event name is followed by whitespace and a frame that
 * starts with a hexadecimal address.
 */
const EVENT_THEN_FRAME =
  /:[ \t\n\v\f\r]*(\d+)?[ \t\n\v\f\r]+([^ \t\n\v\f\r]+?):[ \t\n\v\f\r]+(?=[0-9a-fA-F]+[ \t\n\v\f\r])/;

/** Parses the start of an event header, or returns undefined when `line` is not one. */
export function parseEventHead(line: string): (EventHeader & { end: number }) | undefined {
  const m = EVENT_HEAD.exec(line);
  if (m === null) return undefined;
  let pid = m[2];
  let tid = m[3];
  // Perl's `if (not $tid)`: a missing tid, and also a tid of "0", means "only one number".
  if (tid === undefined || tid === "" || tid === "0") {
    tid = pid;
    pid = "?";
  }
  return { comm: m[1], pid, tid, end: m[0].length };
}

/** The event name and period at the end of a header line. */
export interface EventTail {
  event: string;
  /** The period as printed, or undefined. */
  period?: string;
}

/** Parses the `period event:` end of a header line, or returns undefined. */
export function parseEventTail(line: string): EventTail | undefined {
  // Cheap pre-check: the line must end with `:` and optional whitespace.
  let end = line.length - 1;
  while (end >= 0 && isPerlSpace(line.charCodeAt(end))) end--;
  if (end < 0 || line.charCodeAt(end) !== 58 /* : */) return undefined;
  const m = EVENT_TAIL.exec(line);
  return m === null ? undefined : { event: m[2], period: m[1] };
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
 * A frame line printed without its module: what perf 6.x prints for an inlined frame with
 * `-F+srcline` (`addr symbol`, then `  file.c:3 (inlined)` on the next line).
 */
export function parseBareFrameLine(line: string): { pc: string; sym: string } | undefined {
  const m = /^[ \t\n\v\f\r]*([0-9a-fA-F]+)[ \t\n\v\f\r]+([^ \t\n\v\f\r][^]*)$/.exec(line);
  if (m === null || m[2].includes(" (")) return undefined;
  return { pc: m[1], sym: m[2].trimEnd() };
}
