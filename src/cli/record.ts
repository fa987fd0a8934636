/** `flame record`: not built yet (see the open issues). */
import type { Command } from "./command.ts";
import { FlameError } from "./errors.ts";

/** The `flame record` subcommand. */
export const recordCommand: Command = {
  name: "record",
  summary: "(not built yet)",
  help: "Usage: flame record (not built yet)",
  run(_argv: string[]): Promise<number> {
    return Promise.reject(new FlameError("'flame record' is not built yet"));
  },
};
