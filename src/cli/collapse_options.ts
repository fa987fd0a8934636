/**
 * The perf-collapse options (stackcollapse-perf.pl's names), shared by `flame collapse` and the
 * commands that run perf themselves (`flame run`, `record`, `report`). Those use `--pid` for the
 * process to profile, so the names of the two root-frame options can be changed.
 */
import type { PerfOptions } from "../collapse/perf.ts";
import { flagValue, type OptionSpec, type OptionValue, stringValue } from "./args.ts";

/** The option names of the two root-frame options, where a command needs other ones. */
export interface PerfOptionNames {
  /** Root frame `comm-PID` (default `pid`). */
  pid?: string;
  /** Root frame `comm-PID/TID` (default `tid`). */
  tid?: string;
}

/** The flags every command spells the same way. */
const FLAGS = ["kernel", "jit", "all", "addrs", "inline", "context", "srcline"] as const;

function names(given: PerfOptionNames): Required<PerfOptionNames> {
  return { pid: given.pid ?? "pid", tid: given.tid ?? "tid" };
}

/** The perf-collapse option table (node:util parseArgs format), with pid/tid renamed if asked. */
export function perfCollapseOptions(given: PerfOptionNames = {}): OptionSpec {
  const n = names(given);
  const spec: OptionSpec = {
    [n.pid]: { type: "boolean" },
    [n.tid]: { type: "boolean" },
    "event-filter": { type: "string" },
  };
  for (const flag of FLAGS) spec[flag] = { type: "boolean" };
  return spec;
}

/** The perf-collapse options of `flame collapse`: `--pid`, `--tid`, `--kernel`, ... */
export const PERF_COLLAPSE_OPTIONS: OptionSpec = perfCollapseOptions();

/** Turns parsed values of {@link perfCollapseOptions} into collapser options. */
export function perfOptionsFromValues(
  values: Record<string, OptionValue>,
  given: PerfOptionNames = {},
): Partial<PerfOptions> {
  const n = names(given);
  const all = flagValue(values, "all");
  const options: Partial<PerfOptions> = {
    pid: flagValue(values, n.pid),
    tid: flagValue(values, n.tid),
    kernel: all || flagValue(values, "kernel"),
    jit: all || flagValue(values, "jit"),
    addrs: flagValue(values, "addrs"),
    inline: flagValue(values, "inline"),
    context: flagValue(values, "context"),
    srcline: flagValue(values, "srcline"),
  };
  const filter = stringValue(values, "event-filter");
  if (filter) options.eventFilter = filter;
  return options;
}

/** True when any perf-collapse option was given. */
export function hasPerfOptions(
  values: Record<string, OptionValue>,
  given: PerfOptionNames = {},
): boolean {
  return Object.keys(perfCollapseOptions(given)).some((key) => values[key] !== undefined);
}

/**
 * The help lines for the perf-collapse options, indented by two spaces, the descriptions in a
 * column `flagWidth` characters wide (or as wide as the longest flag).
 */
export function perfCollapseHelp(given: PerfOptionNames = {}, flagWidth = 0): string {
  const n = names(given);
  const rows: [string, string][] = [
    [`--${n.pid}`, "root frame is comm-PID: one tower per process"],
    [`--${n.tid}`, "root frame is comm-PID/TID: one tower per thread"],
    ["--kernel", "mark kernel frames with _[k]"],
    ["--jit", "mark JIT frames (/tmp/perf-PID.map, jitted-*.so) with _[j]"],
    ["--all", "both --kernel and --jit"],
    ["--addrs", "show the address of unknown symbols: [libc.so.6 <7f12a4>]"],
    ["--event-filter=EVENT", "keep samples of EVENT only, perf's :ppp aside (default: the first)"],
    ["--inline", "expand inlined functions with addr2line (slow on big binaries)"],
    ["--context", "with --inline, add :file:line to each frame"],
    ["--srcline", "the input is 'perf script -F+srcline': add each frame's source line"],
  ];
  const width = Math.max(flagWidth, ...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`).join("\n");
}
