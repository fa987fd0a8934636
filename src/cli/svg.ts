/** `flame svg`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame svg` subcommand. */
export const svgCommand: Command = {
  name: "svg",
  summary: "(not built yet)",
  help: "Usage: flame svg (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame svg' is not built yet"));
  },
};
