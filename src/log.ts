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

/** Prints `flame: warning: MESSAGE`. */
export function warn(message: string): void {
  if (!sink.quiet) sink.write(`flame: warning: ${message}\n`);
}

/** Prints `flame: MESSAGE` (progress notes and summaries). */
export function info(message: string): void {
  if (!sink.quiet) sink.write(`flame: ${message}\n`);
}

/** Prints an error line and, when given, a hint line. */
export function error(message: string, hint?: string): void {
  sink.write(`flame: error: ${message}\n`);
  if (hint) sink.write(`  hint: ${hint}\n`);
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
    sink.write(`\r\x1b[2Kflame: ${typeof text === "function" ? text() : text}`);
  }

  /** Clears the progress line. */
  done(): void {
    if (this.#shown) sink.write("\r\x1b[2K");
    this.#shown = false;
  }
}
