/** `flame collapse`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame collapse` subcommand. */
export const collapseCommand: Command = {
  name: "collapse",
  summary: "(not built yet)",
  help: "Usage: flame collapse (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame collapse' is not built yet"));
  },
};
