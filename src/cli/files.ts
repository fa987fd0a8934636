/** `flame files`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame files` subcommand. */
export const filesCommand: Command = {
  name: "files",
  summary: "(not built yet)",
  help: "Usage: flame files (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame files' is not built yet"));
  },
};
