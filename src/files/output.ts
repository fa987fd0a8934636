/**
 * Synchronous byte output for the folded lines: the walk is one synchronous loop (FFI calls),
 * so writing its output synchronously keeps it free of promises and string re-encoding. A file
 * is written to `path.tmp-PID` and renamed over `path` only when everything was written, like
 * src/io/output.ts does for text.
 */
import { describeFileError } from "../cli/errors.ts";

/** Takes whole blocks of bytes. */
export interface ByteWriter {
  write(bytes: Uint8Array): void;
}

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/**
 * Runs `produce` with a writer to `path` (stdout when undefined or `-`), atomically for a file.
 */
export function withByteOutput<T>(
  path: string | undefined,
  produce: (out: ByteWriter) => T,
): T {
  if (path === undefined || path === "-") {
    return produce({ write: (bytes) => writeAll(Deno.stdout, bytes) });
  }
  const tmp = `${path}.tmp-${Deno.pid}`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  } catch (err) {
    throw describeFileError(path, err);
  }
  try {
    const result = produce({ write: (bytes) => writeAll(file, bytes) });
    file.close();
    Deno.renameSync(tmp, path);
    return result;
  } catch (err) {
    try {
      file.close();
    } catch { /* closed already */ }
    try {
      Deno.removeSync(tmp);
    } catch { /* gone already */ }
    throw err;
  }
}
