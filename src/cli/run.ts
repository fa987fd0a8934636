/** `flame run`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame run` subcommand. */
export const runCommand: Command = {
  name: "run",
  summary: "(not built yet)",
  help: "Usage: flame run (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame run' is not built yet"));
  },
};
