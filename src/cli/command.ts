/** The shape every subcommand module exports. */
export interface Command {
  /** The word after `flame`. */
  name: string;
  /** The full `flame NAME --help` text: usage, options, examples. */
  help: string;
  /** Runs the command with the arguments after its name; resolves to the exit status. */
  run(argv: string[]): Promise<number>;
}
