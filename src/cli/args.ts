/**
 * Option parsing for every subcommand: node:util parseArgs with errors turned into one-line
 * usage errors (exit 2) that point at `--help`.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** The option table of a subcommand, in node:util's format. */
export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** One parsed option's value. */
export type OptionValue = string | boolean | (string | boolean)[] | undefined;

/** Parsed options (plain object, not null-prototype) and positionals. */
export interface ParsedArgs {
  values: Record<string, OptionValue>;
  positionals: string[];
  /** Everything after a `--`, untouched (the command for `flame run`). */
  rest: string[];
}

/**
 * Parses `argv` for `command` against `options`. With `splitAtDashDash`, arguments after the
 * first `--` are returned in `rest` instead of being read as positionals.
 */
export function parseCommandArgs(
  command: string,
  argv: string[],
  options: OptionSpec,
  { splitAtDashDash = false } = {},
): ParsedArgs {
  const dd = splitAtDashDash ? argv.indexOf("--") : -1;
  const head = dd === -1 ? argv : argv.slice(0, dd);
  const rest = dd === -1 ? [] : argv.slice(dd + 1);
  try {
    const { values, positionals } = parseArgs({
      args: head,
      options,
      allowPositionals: true,
      allowNegative: false,
      strict: true,
    });
    return { values: { ...values }, positionals, rest };
  } catch (err) {
    throw new UsageError(
      `${command}: ${describeParseError(err)}`,
      `run 'flame ${command} --help' for the options`,
    );
  }
}

function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // node's messages carry advice for JavaScript callers after the first sentence; keep the first.
  const first = message.split(/\.\s/)[0].replace(/\.$/, "");
  return first.charAt(0).toLowerCase() + first.slice(1);
}

/** Reads a numeric option, or throws a usage error naming it. */
export function numberOption(
  command: string,
  name: string,
  value: unknown,
  { min = -Infinity, integer = false } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value === "" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    const kind = integer ? "an integer" : "a number";
    const bound = min > -Infinity ? ` >= ${min}` : "";
    throw new UsageError(
      `${command}: --${name} wants ${kind}${bound}, got '${value}'`,
      `run 'flame ${command} --help' for the options`,
    );
  }
  return n;
}

/** A string option's value (the last one when repeated). */
export function stringValue(values: Record<string, OptionValue>, name: string): string | undefined {
  const v = values[name];
  if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
  return typeof v === "string" ? v : undefined;
}

/** A boolean flag's value. */
export function flagValue(values: Record<string, OptionValue>, name: string): boolean {
  return values[name] === true;
}

/** Every value of a repeatable string option. */
export function stringValues(values: Record<string, OptionValue>, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * Parses `-p 12,34 -p 56` into PIDs; throws a usage error for anything else, naming `command`
 * and showing `example`.
 */
export function parsePids(values: string[], command: string, example: string): number[] {
  const pids: number[] = [];
  for (const v of values) {
    for (const part of v.split(",")) {
      const p = part.trim();
      if (p === "") continue;
      if (!/^\d+$/.test(p) || Number(p) === 0) {
        throw new UsageError(`${command}: --pid wants process IDs, got '${v}'`, example);
      }
      if (!pids.includes(Number(p))) pids.push(Number(p));
    }
  }
  return pids;
}
