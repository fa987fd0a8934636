/**
 * Messages to the user on stderr. Everything the CLI says goes through here, so tests can
 * capture it and a quiet mode can silence it.
 */

const encoder = new TextEncoder();

/** Where messages go; tests swap it to capture output. */
export const sink = {
  write(text: string): void {
    Deno.stderr.writeSync(encoder.encode(text));
  },
  quiet: false,
};

/**
 * What a terminal must never get raw: C0 controls, DEL, C1 controls (U+009B is a CSI), the
 * bidi controls and line/paragraph separators (they reorder or break what follows), and lone
 * surrogates (no character at all). `ls` prints bidi controls raw; flame escapes them, in its
 * messages (`showable`) and in the names it quotes (terminal.ts).
 */
export const UNSAFE =
  // deno-lint-ignore no-control-regex
  /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** UNSAFE, every one (a newline could forge a line of flame's own); a tab is shown as it is. */
const UNSHOWABLE = new RegExp(UNSAFE.source, "g");

/**
 * A message as the terminal should show it: every control character written as an escape
 * (`\x1b`, `\n`, `\u202e`). Messages quote names from profiles, files and other programs,
 * which are untrusted.
 */
export function showable(text: string): string {
  return text.replace(UNSHOWABLE, (c) => {
    if (c === "\t") return c;
    if (c === "\n") return "\\n";
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Prints `flame: warning: MESSAGE`. */
export function warn(message: string): void {
  if (!sink.quiet) sink.write(`flame: warning: ${showable(message)}\n`);
}

/** Prints `flame: MESSAGE` (progress notes and summaries). */
export function info(message: string): void {
  if (!sink.quiet) sink.write(`flame: ${showable(message)}\n`);
}

/** Prints an error line and, when given, a hint line. */
export function error(message: string, hint?: string): void {
  sink.write(`flame: error: ${showable(message)}\n`);
  if (hint) sink.write(`  hint: ${showable(hint)}\n`);
}

/** True when stdin is a terminal: a command reading it would wait for typed input. */
export function stdinIsTerminal(): boolean {
  try {
    return Deno.stdin.isTerminal();
  } catch {
    return false;
  }
}

/** True when stderr is a terminal, i.e. progress lines will be seen and then overwritten. */
export function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

/**
 * A progress line that rewrites itself on a terminal (at most every 200 ms) and prints nothing
 * when stderr is not a terminal.
 */
export class Progress {
  #last = 0;
  #shown = false;
  readonly enabled: boolean;

  constructor(enabled = stderrIsTerminal() && !sink.quiet) {
    this.enabled = enabled;
  }

  /** Shows `text` if enough time has passed since the last update. */
  update(text: string | (() => string)): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.#last < 200) return;
    this.#last = now;
    this.#shown = true;
    sink.write(`\r\x1b[2Kflame: ${showable(typeof text === "function" ? text() : text)}`);
  }

  /** Clears the progress line. */
  done(): void {
    if (this.#shown) sink.write("\r\x1b[2K");
    this.#shown = false;
  }
}
