/** Every subcommand, in the order `flame --help` lists them. */
import type { Command } from "./command.ts";
import { runCommand } from "./run.ts";
import { recordCommand } from "./record.ts";
import { reportCommand } from "./report.ts";
import { collapseCommand } from "./collapse.ts";
import { svgCommand } from "./svg.ts";
import { diffCommand } from "./diff.ts";
import { filesCommand } from "./files.ts";

/** The subcommands of `flame`. */
export const COMMANDS: readonly Command[] = [
  runCommand,
  recordCommand,
  reportCommand,
  collapseCommand,
  svgCommand,
  diffCommand,
  filesCommand,
];
