/**
 * Errors the CLI turns into one line on stderr and an exit status, never a stack trace.
 */

/** A failure the user can act on: printed as `flame: MESSAGE`, exit status `exitCode`. */
export class FlameError extends Error {
  constructor(message: string, readonly exitCode = 1, readonly hint?: string) {
    super(message);
    this.name = "FlameError";
  }
}

/** A command line that cannot be understood: exit status 2 with a hint to `--help`. */
export class UsageError extends FlameError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
    this.name = "UsageError";
  }
}

/** Describes a file-system error for a path in one line, with what to do about it. */
export function describeFileError(path: string, err: unknown): FlameError {
  if (err instanceof Deno.errors.NotFound) {
    return new FlameError(`${path}: no such file or directory`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new FlameError(`${path}: permission denied`, 1, "check the file's permissions");
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return new FlameError(`${path}: is a directory, expected a file`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new FlameError(`${path}: ${reason}`);
}
