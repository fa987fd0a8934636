/**
 * Every subcommand, in the order `flame --help` lists them. A command's module is loaded only
 * when it runs: start-up then pays for one command, not all of them (about 10 ms a run).
 */
import type { Command } from "./command.ts";

/** A subcommand as `flame --help` lists it, and how to load it. */
export interface CommandEntry {
  /** The word after `flame`. */
  name: string;
  /** One line for `flame --help`. */
  summary: string;
  /** Imports the command's module. */
  load(): Promise<Command>;
}

/** The subcommands of `flame`. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "run",
    summary: "profile a program (perf record + collapse + render) into flame.svg",
    load: async () => (await import("./run.ts")).runCommand,
  },
  {
    name: "record",
    summary: "attach to running processes (-p PID) or the whole system (-a) for a flame graph",
    load: async () => (await import("./record.ts")).recordCommand,
  },
  {
    name: "report",
    summary: "an existing perf.data recording to a flame graph",
    load: async () => (await import("./report.ts")).reportCommand,
  },
  {
    name: "collapse",
    summary: "perf script, DTrace or folded output in, folded stacks out",
    load: async () => (await import("./collapse.ts")).collapseCommand,
  },
  {
    name: "svg",
    summary: "draw folded stacks as an interactive SVG flame graph",
    load: async () => (await import("./svg.ts")).svgCommand,
  },
  {
    name: "diff",
    summary: "compare two folded profiles: a differential flame graph",
    load: async () => (await import("./diff.ts")).diffCommand,
  },
  {
    name: "convert",
    summary: "any profile format in (pprof, cProfile, .cpuprofile, ...), any out",
    load: async () => (await import("./convert.ts")).convertCommand,
  },
  {
    name: "push",
    summary: "send a profile to Grafana Pyroscope",
    load: async () => (await import("./push.ts")).pushCommand,
  },
  {
    name: "dump",
    summary: "print every thread's Python stack in a running process (like py-spy dump)",
    load: async () => (await import("./dump.ts")).dumpCommand,
  },
  {
    name: "files",
    summary: "disk usage of directories as a flame graph (like du, exact)",
    load: async () => (await import("./files.ts")).filesCommand,
  },
];
