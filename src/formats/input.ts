/**
 * Opening a profile input for the readers: its first bytes are looked at without being lost (the
 * stream handed on replays them), a gzipped input is un-gzipped on the fly (its head is then the
 * un-gzipped head), and whole-file formats read it with a bound on memory.
 */
import { FlameError } from "../errors.ts";
import { formatBytes } from "../format.ts";
import { type Input, openInput } from "../io/input.ts";
import type { FormatInput } from "./format.ts";

/** Bytes looked at to tell formats apart: enough for 40+ lines of perf script text. */
export const HEAD_BYTES = 64 * 1024;

/** The most bytes a whole-file format reads by default (JSON, protobuf, marshal). */
export const DEFAULT_MAX_BYTES = 1024 * 1024 * 1024;

/** True when `bytes` start with gzip's magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** A stream's first bytes and a stream that yields every byte again, those first ones included. */
export interface Peeked {
  head: Uint8Array;
  readable: ReadableStream<Uint8Array>;
}

/**
 * Reads up to `want` bytes of `readable` (fewer at its end) and returns them with a stream that
 * replays them before the rest. `describeError` turns a read failure into the error to throw.
 */
export async function peek(
  readable: ReadableStream<Uint8Array>,
  want: number,
  describeError: (err: unknown) => Error = (err) => err as Error,
): Promise<Peeked> {
  const reader = readable.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let done = false;
  try {
    while (have < want) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      // Copy: a byte stream may reuse the chunk's buffer for the next read.
      chunks.push(r.value.slice());
      have += r.value.byteLength;
    }
  } catch (err) {
    reader.releaseLock();
    throw describeError(err);
  }
  const head = concat(chunks, have).subarray(0, Math.min(have, want));
  let queued = [...chunks];
  const replay = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = queued.shift();
      if (next !== undefined) {
        controller.enqueue(next);
        return;
      }
      if (done) {
        controller.close();
        return;
      }
      try {
        const r = await reader.read();
        if (r.done) controller.close();
        else controller.enqueue(r.value.slice());
      } catch (err) {
        controller.error(describeError(err));
      }
    },
    cancel(reason) {
      queued = [];
      return reader.cancel(reason);
    },
  });
  return { head, readable: replay };
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** A one-line error for a gzip stream that cannot be un-gzipped. */
function gzipError(name: string) {
  return (err: unknown) => {
    if (err instanceof FlameError) return err;
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return new FlameError(`${name}: not a complete gzip file (${reason})`);
  };
}

/**
 * Opens `path` (stdin for `-` or undefined) for the profile readers: its head (un-gzipped when
 * it starts with gzip's magic) and a stream of all its bytes.
 */
export async function openFormatInput(path: string | undefined): Promise<FormatInput> {
  return formatInputFrom(await openInput(path));
}

/** Peeks at an opened input (and un-gzips it) for the profile readers. */
export async function formatInputFrom(input: Input): Promise<FormatInput> {
  const raw = await peek(input.readable, HEAD_BYTES);
  if (!isGzip(raw.head)) return { name: input.name, ...raw, size: input.size };
  const describe = gzipError(input.name);
  const unzipped = raw.readable.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  const inner = await peek(unzipped, HEAD_BYTES, describe);
  // Errors that surface later (a truncated tail) come out of the replay stream, described.
  return { name: input.name, head: inner.head, readable: inner.readable };
}

/**
 * Reads every byte of `input` into one array, or throws a FlameError once more than `maxBytes`
 * arrive (a gzip bomb or a file far too big for a whole-file format).
 */
export async function readAllBytes(
  input: FormatInput,
  maxBytes = DEFAULT_MAX_BYTES,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = input.readable.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        throw new FlameError(
          `${input.name}: larger than ${formatBytes(maxBytes)} (un-gzipped): too big to read whole`,
        );
      }
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    if (err instanceof FlameError) throw err;
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new FlameError(`${input.name}: cannot read: ${reason}`);
  } finally {
    reader.releaseLock();
  }
  return concat(chunks, total);
}

/** Reads the whole input as UTF-8 text (invalid bytes replaced), bounded as readAllBytes is. */
async function readAllText(input: FormatInput, maxBytes?: number): Promise<string> {
  return new TextDecoder().decode(await readAllBytes(input, maxBytes));
}

/**
 * The whole input parsed as JSON, then turned into a profile by `convert`; bad JSON and what
 * `convert` throws are one FlameError each, naming the input (`not a WHAT: why`).
 */
export async function readJsonProfile<T>(
  input: FormatInput,
  maxBytes: number | undefined,
  what: string,
  convert: (json: unknown) => T,
): Promise<T> {
  const text = await readAllText(input, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new FlameError(`${input.name}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return convert(json);
  } catch (err) {
    throw new FlameError(`${input.name}: not a ${what}: ${(err as Error).message}`);
  }
}

/** An Input (what the collapsers stream) over a FormatInput's bytes. */
export function asCollapseInput(input: FormatInput): Input {
  return { name: input.name, readable: input.readable, size: input.size };
}
