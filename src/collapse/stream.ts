/**
 * Drives a collapser over an input: reads its bytes in large chunks, decodes them (invalid UTF-8
 * becomes U+FFFD), lets the caller pick the collapser from the first few KB, and shows a
 * progress line with the bytes processed on a terminal.
 */
import { formatBytes } from "../format.ts";
import { BinarySniffer, type Input } from "../io/input.ts";
import { Progress } from "../log.ts";
import { type Collapser, type CollapseResult, InputFormatError } from "./types.ts";

/** Characters of input first shown to `choose`; doubled each time it asks for more. */
export const DETECT_CHARS = 8192;
/** Characters after which `choose` must decide. */
const DETECT_MAX = 1 << 20;

/** Bytes asked for per read where the stream allows it (fewer reads are faster). */
const READ_SIZE = 1 << 20;
/**
 * Bytes handed on at a time. Decoded, they make strings small enough for V8's young
 * generation, which frees them cheaply; 1 MiB strings would pile up until a full GC.
 */
const PIECE_SIZE = 1 << 16;

/**
 * Yields the bytes of `readable` in pieces of up to 64 KiB (a byte stream is read 1 MiB at a
 * time into one reused buffer; any other stream chunk by chunk as it comes). Each piece is
 * valid until the next one is asked for.
 */
export async function* readChunks(
  readable: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = readable.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream: read it as it comes.
  }
  if (byob === undefined) {
    yield* readable;
    return;
  }
  let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
  try {
    // Two buffers take turns: while the pieces of one are folded, the next read fills the other
    // (the read runs off the main thread, so it overlaps the folding). Each buffer comes back with
    // its read and is read into again once its pieces are done: memory stays flat.
    let spare = new ArrayBuffer(READ_SIZE);
    pending = byob.read(new Uint8Array(new ArrayBuffer(READ_SIZE)));
    for (;;) {
      const { value, done } = await pending;
      if (done || value === undefined) return;
      pending = byob.read(new Uint8Array(spare));
      for (let at = 0; at < value.byteLength; at += PIECE_SIZE) {
        yield value.subarray(at, Math.min(at + PIECE_SIZE, value.byteLength));
      }
      spare = value.buffer as ArrayBuffer;
    }
  } finally {
    pending?.catch(() => {}); // a read still in flight when the consumer stops is dropped
    byob.releaseLock();
  }
}

/**
 * Picks the collapser for an input from its start: `complete` is true when `head` is the whole
 * input or as much as will be shown. Returns undefined to see more (only when not complete).
 */
export type ChooseCollapser = (head: string, complete: boolean) => Collapser | undefined;

/**
 * Collapses `input`: its first DETECT_CHARS characters (or all, if fewer) are given to `choose`,
 * which returns the collapser for them (or asks for twice as much); then every chunk is pushed
 * to it as it arrives. Throws InputFormatError when the input is binary data, not text.
 */
export async function collapseInput(
  input: Input,
  choose: ChooseCollapser,
  progress: Progress = new Progress(),
): Promise<CollapseResult> {
  let bytes = 0;
  const label = () => {
    const total = input.size ? ` of ${formatBytes(input.size)}` : "";
    const percent = input.size ? ` (${Math.floor((bytes / input.size) * 100)}%)` : "";
    return `collapsing ${input.name}: ${formatBytes(bytes)}${total}${percent}`;
  };
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: false });
  let collapser: Collapser | undefined;
  let head: string[] = [];
  let headLength = 0;
  let wanted = DETECT_CHARS;
  const feed = (text: string) => {
    if (text === "") return;
    if (collapser !== undefined) {
      collapser.push(text);
      return;
    }
    head.push(text);
    headLength += text.length;
    if (headLength >= wanted) {
      collapser = start(headLength >= DETECT_MAX);
      wanted *= 2;
    }
  };
  const start = (complete: boolean): Collapser | undefined => {
    const text = head.join("");
    const chosen = choose(text, complete);
    if (chosen === undefined) {
      if (complete) throw new Error("choose() must pick a collapser for complete input");
      head = [text];
      return undefined;
    }
    chosen.push(text);
    head = [];
    return chosen;
  };
  // Binary data (a perf.data, a compressed file) is told before any of it is read as text.
  const sniffer = new BinarySniffer(input.name);
  const notText = (binary: string | undefined) => {
    if (binary !== undefined) throw new InputFormatError(binary);
  };
  try {
    for await (const chunk of readChunks(input.readable)) {
      bytes += chunk.byteLength;
      notText(sniffer.push(chunk));
      feed(decoder.decode(chunk, { stream: true }));
      progress.update(label);
    }
    notText(sniffer.end());
    feed(decoder.decode());
    collapser ??= start(true)!;
    return collapser.finish();
  } finally {
    progress.done();
  }
}
