/**
 * The CLI entry: picks the subcommand, prints help and version, and turns every error into
 * one line on stderr with an exit status (never a stack trace).
 */
import { VERSION } from "../version.ts";
import { type CommandEntry, COMMANDS } from "./commands.ts";
import { FlameError, UsageError } from "../errors.ts";
import { error, sink } from "../log.ts";

const encoder = new TextEncoder();

function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text.endsWith("\n") ? text : text + "\n"));
}

/** The top-level `flame --help` text. */
export function topHelp(commands: readonly CommandEntry[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `flame ${VERSION}: a program, a recording or folded stacks in, an interactive flame graph out.

Usage: flame COMMAND [OPTIONS] [ARGS...]

Commands:
${list}

Examples:
  flame run -- python3 script.py          profile a program, write flame.svg
  flame record --pid 1234 --duration 10   attach to a running process for 10 s
  flame report perf.data                  render an existing perf recording
  perf script | flame collapse > out.folded
  flame svg out.folded -o graph.svg       render folded stacks
  flame diff before.folded after.folded -o diff.svg
  flame files ~                           where did my disk go

Run 'flame COMMAND --help' for a command's options. Open the SVG in a web browser:
click to zoom, Ctrl-F to search.`;
}

/** Runs the CLI with `argv` (without the program name) and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    return report(err);
  }
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    if (first === "help" && rest[0]) return dispatch([rest[0], "--help"]);
    print(topHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === "-V" || first === "--version" || first === "version") {
    print(`flame ${VERSION}`);
    return 0;
  }
  const entry = COMMANDS.find((c) => c.name === first);
  if (!entry) {
    if (first.startsWith("-")) {
      throw new UsageError(`unknown option '${first}'`, "run 'flame --help' for the commands");
    }
    const guess = closest(first, COMMANDS.map((c) => c.name));
    throw new UsageError(
      `unknown command '${first}'`,
      guess ? `did you mean 'flame ${guess}'? ('flame --help' lists them)` : "run 'flame --help'",
    );
  }
  const command = await entry.load();
  const dd = rest.indexOf("--");
  const own = dd === -1 ? rest : rest.slice(0, dd);
  if (own.includes("--help") || own.includes("-h")) {
    print(command.help);
    return 0;
  }
  return await command.run(rest);
}

function report(err: unknown): number {
  if (err instanceof FlameError) {
    error(err.message, err.hint);
    return err.exitCode;
  }
  if (err instanceof Deno.errors.BrokenPipe) return 0; // `flame ... | head`: the reader left.
  const message = err instanceof Error ? err.message : String(err);
  error(`internal error: ${message.split("\n")[0]}`, "please report this with the command you ran");
  if (Deno.env.get("FLAME_DEBUG") && err instanceof Error) sink.write(`${err.stack}\n`);
  return 70;
}

/** The candidate within edit distance 2 of `word`, if any. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
