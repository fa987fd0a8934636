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
 * Characters a terminal acts on instead of showing: C0 and C1 controls (escape sequences can
 * recolour, retitle or clear the terminal; a newline could forge a line of flame's own) and the
 * bidirectional controls that reorder the text around them.
 */
const UNSHOWABLE =
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A message as the terminal should show it: every control character written as an escape
 * (`\x1b`, `\n`, `\u202e`). Messages quote names from profiles, files and other programs,
 * which are untrusted.
 */
export function showable(text: string): string {
  return text.replace(UNSHOWABLE, (c) => {
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
