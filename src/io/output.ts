/**
 * Writing results: to stdout, or to a file atomically (a temp file beside it, then rename), so a
 * failed or interrupted run never leaves a half-written graph behind.
 */
import { describeFileError } from "../errors.ts";

const encoder = new TextEncoder();

/** Something text can be written to in pieces. */
export interface TextSink {
  write(text: string): Promise<void>;
}

/**
 * Buffers small writes into 256 KB blocks before handing them to `writer`: fewer syscalls and
 * no per-line promise on the hot path.
 */
export class BufferedTextWriter implements TextSink {
  #parts: string[] = [];
  #size = 0;
  constructor(private readonly writer: WritableStreamDefaultWriter<Uint8Array>) {}

  async write(text: string): Promise<void> {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 1 << 18) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const block = this.#parts.join("");
    this.#parts = [];
    this.#size = 0;
    await this.writer.write(encoder.encode(block));
  }
}

/**
 * True when `path` names something other than a regular file: `/dev/stdout` (a link to a pipe
 * or a terminal), a FIFO, a device. Those are written in place: renaming a temporary file over
 * them would replace the device node itself (as root, `/dev/stdout` would become a file).
 */
function isSpecialFile(path: string): boolean {
  try {
    return !Deno.statSync(path).isFile;
  } catch {
    return false; // missing (or unreadable): a regular file is made
  }
}

/**
 * Runs `produce` with a sink that writes to `path` (or stdout when `path` is undefined or `-`).
 * A file is written to `path.tmp-PID` and renamed over `path` only when `produce` succeeds.
 */
export async function writeOutput(
  path: string | undefined,
  produce: (sink: TextSink) => Promise<void>,
): Promise<void> {
  if (path === undefined || path === "-") {
    const writer = Deno.stdout.writable.getWriter();
    const sink = new BufferedTextWriter(writer);
    try {
      await produce(sink);
      await sink.flush();
    } finally {
      writer.releaseLock();
    }
    return;
  }
  if (isSpecialFile(path)) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { write: true });
    } catch (err) {
      throw describeFileError(path, err);
    }
    const writer = file.writable.getWriter();
    const sink = new BufferedTextWriter(writer);
    await produce(sink);
    await sink.flush();
    await writer.close();
    return;
  }
  const tmp = `${path}.tmp-${Deno.pid}`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  } catch (err) {
    throw describeFileError(path, err);
  }
  const writer = file.writable.getWriter();
  const sink = new BufferedTextWriter(writer);
  try {
    await produce(sink);
    await sink.flush();
    await writer.close();
    await Deno.rename(tmp, path);
  } catch (err) {
    try {
      await writer.abort();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied
      ? describeFileError(path, err)
      : err;
  }
}

/** Writes a whole string to `path` atomically (or to stdout). */
export function writeTextOutput(path: string | undefined, text: string): void {
  withByteOutput(path, (out) => out.write(new TextEncoder().encode(text)));
}

/*
 * Synchronous byte output, for producers that are synchronous loops (the files walk) or write
 * one finished document (the SVG): no promises, no re-encoding, the same atomic temp + rename.
 */

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
  if (isSpecialFile(path)) {
    let special: Deno.FsFile;
    try {
      special = Deno.openSync(path, { write: true });
    } catch (err) {
      throw describeFileError(path, err);
    }
    try {
      return produce({ write: (bytes) => writeAll(special, bytes) });
    } finally {
      special.close();
    }
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
    throw err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied
      ? describeFileError(path, err)
      : err;
  }
}
