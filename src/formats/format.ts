/**
 * The two shapes every profile format module exports: a reader (bytes in, a Profile out) and a
 * writer (a Profile in, bytes out). The registry (registry.ts) lists them; nothing else needs to
 * know which formats exist.
 */
import type { Profile } from "../profile/profile.ts";
import type { PerfOptions } from "../collapse/perf.ts";
import type { RenderOptions } from "../render/mod.ts";

/** An input being read: its first bytes for detection, and all of its bytes as a stream. */
export interface FormatInput {
  /** A name for messages: the path, or `<stdin>`. */
  name: string;
  /** The first bytes (already un-gzipped when the input was gzipped). */
  head: Uint8Array;
  /** Every byte of the input from the start, `head` included (un-gzipped). */
  readable: ReadableStream<Uint8Array>;
  /** The size on disk when known (a plain file, not gzipped). */
  size?: number;
}

/** What the reader of a format may be told. */
export interface ReadOptions {
  /** perf script input: the collapser's options (`flame collapse`'s). */
  perf?: Partial<PerfOptions>;
  /** DTrace input: keep each frame's `+0xoffset`. */
  includeOffset?: boolean;
  /** pprof input: the sample type to read (its name or index; default: the file's default). */
  sampleType?: string;
  /** Whole-file formats (JSON, protobuf, marshal): the most bytes read before giving up. */
  maxBytes?: number;
}

/** What a reader produced. */
export interface ReadResult {
  profile: Profile;
  /** One-line warnings for the user (odd input that was still read, approximations). */
  warnings: string[];
}

/** A profile format flame reads. */
export interface ProfileReader {
  /** Its name for `--from` and messages (`pprof`, `speedscope`, ...). */
  name: string;
  /** One line for help texts. */
  description: string;
  /**
   * True when the input's start is this format. `head` is the first bytes (un-gzipped), `text`
   * the same decoded as UTF-8 (lossy). It must decide from these alone.
   */
  detect(head: Uint8Array, text: string): boolean;
  /** Reads the whole input. Throws FlameError (one line) when it is not this format after all. */
  read(input: FormatInput, options: ReadOptions): Promise<ReadResult>;
}

/** What a writer of a format may be told. */
export interface WriteOptions {
  /** SVG: the renderer's options (`--title` etc.). */
  render?: Partial<RenderOptions>;
  /** Summary and JSON: how many functions each table lists. */
  top?: number;
}

/** Takes bytes as they are produced, in order. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<void>;
}

/** A profile format flame writes. */
export interface ProfileWriter {
  /** Its name for `--format` (`svg`, `pprof`, ...). */
  name: string;
  /** File name endings that mean this format for `-o` (longest first where they overlap). */
  extensions: readonly string[];
  /** One line for help texts. */
  description: string;
  /** True when the output is text that a terminal can show (not compressed bytes). */
  text: boolean;
  /** Writes `profile` to `sink`; returns one-line warnings (what the format could not keep). */
  write(profile: Profile, options: WriteOptions, sink: ByteSink): Promise<string[]>;
}

const encoder = new TextEncoder();

/** Writes text to a byte sink in blocks of about 64 KiB (one encode per block). */
export class TextBlocks {
  #parts: string[] = [];
  #size = 0;
  constructor(private readonly sink: ByteSink) {}

  /** Adds text; flushes a block once 64 KiB have gathered. */
  async add(text: string): Promise<void> {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 1 << 16) await this.flush();
  }

  /** Writes what has gathered. */
  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const block = this.#parts.join("");
    this.#parts = [];
    this.#size = 0;
    await this.sink.write(encoder.encode(block));
  }
}
