/** `flame report`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame report` subcommand. */
export const reportCommand: Command = {
  name: "report",
  summary: "(not built yet)",
  help: "Usage: flame report (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame report' is not built yet"));
  },
};
