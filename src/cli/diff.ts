/** `flame diff`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame diff` subcommand. */
export const diffCommand: Command = {
  name: "diff",
  summary: "(not built yet)",
  help: "Usage: flame diff (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame diff' is not built yet"));
  },
};
