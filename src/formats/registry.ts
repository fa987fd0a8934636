/**
 * Every profile format flame reads and writes, and the two entry points the commands use:
 * `readProfiles` (any inputs, format told by content, merged into one Profile) and
 * `writeProfile` (a Profile in the format named, or implied by the output file's extension).
 * Adding a format is one module and one line in READERS and/or WRITERS.
 */
import { FlameError, UsageError } from "../errors.ts";
import { writeBytesOutput } from "../io/output.ts";
import type { Profile } from "../profile/profile.ts";
import { cpuprofileReader } from "./cpuprofile.ts";
import { cpythonCollapsedReader } from "./cpython_collapsed.ts";
import { dtraceReader } from "./dtrace.ts";
import { foldedReader, foldedWriter } from "./folded.ts";
import type {
  FormatInput,
  ProfileReader,
  ProfileWriter,
  ReadOptions,
  ReadResult,
  WriteOptions,
} from "./format.ts";
import { openFormatInput } from "./input.ts";
import { mergeProfiles } from "./merge.ts";
import { perfScriptReader } from "./perf_script.ts";
import { pprofReader, pprofWriter } from "./pprof.ts";
import { pstatsReader } from "./pstats.ts";
import { pyspyRawReader } from "./pyspy_raw.ts";
import { speedscopeReader, speedscopeWriter } from "./speedscope.ts";
import { summaryJsonWriter, summaryWriter } from "./summary.ts";
import { svgWriter } from "./svg.ts";

/**
 * The readers, in the order they are asked: binary formats (told by their first bytes), then
 * JSON ones, then text ones, the more particular before the more general (py-spy raw output
 * and CPython's collapsed stacks are also folded stacks).
 */
export const READERS: readonly ProfileReader[] = [
  pprofReader,
  pstatsReader,
  cpuprofileReader,
  speedscopeReader,
  cpythonCollapsedReader,
  pyspyRawReader,
  perfScriptReader,
  dtraceReader,
  foldedReader,
];

/** The writers, in the order help texts list them. */
export const WRITERS: readonly ProfileWriter[] = [
  svgWriter,
  foldedWriter,
  speedscopeWriter,
  pprofWriter,
  summaryWriter,
  summaryJsonWriter,
];

/** The names `--format` takes. */
export const FORMAT_NAMES: readonly string[] = WRITERS.map((w) => w.name);

const decoder = new TextDecoder("utf-8", { fatal: false });

/** The reader of the input whose first bytes are `head`, or undefined. */
export function detectReader(head: Uint8Array): ProfileReader | undefined {
  const text = decoder.decode(head);
  return READERS.find((r) => r.detect(head, text));
}

/** The reader called `name`; a usage error lists them when there is none. */
export function readerByName(name: string): ProfileReader {
  const reader = READERS.find((r) => r.name === name);
  if (!reader) {
    throw new UsageError(
      `unknown input format '${name}'`,
      `one of: ${READERS.map((r) => r.name).join(", ")}`,
    );
  }
  return reader;
}

/** The writer called `name`; a usage error lists them when there is none. */
export function writerByName(name: string): ProfileWriter {
  const writer = WRITERS.find((w) => w.name === name);
  if (!writer) {
    throw new UsageError(`unknown format '${name}'`, `--format takes: ${FORMAT_NAMES.join(", ")}`);
  }
  return writer;
}

/** The writer an output path's extension names, or undefined. The longest ending wins. */
function writerForExtension(path: string): ProfileWriter | undefined {
  const lower = path.toLowerCase();
  let best: ProfileWriter | undefined;
  let bestLength = 0;
  for (const w of WRITERS) {
    for (const ext of w.extensions) {
      if (lower.endsWith(ext) && ext.length > bestLength) [best, bestLength] = [w, ext.length];
    }
  }
  return best;
}

/** Every extension `-o` understands, for messages. */
export function knownExtensions(): string {
  return WRITERS.map((w) => `${w.extensions.join(" ")} (${w.name})`).join(", ");
}

/**
 * The writer for an output of `convert`: `format` when given, else the one `path`'s extension
 * names, else folded when there is no path (stdout). An unknown extension is a usage error that
 * lists the known ones (where `writerForOutput` draws an SVG).
 */
export function chooseWriter(format: string | undefined, path: string | undefined): ProfileWriter {
  if (format !== undefined) return writerByName(format);
  if (path === undefined || path === "-") return writerByName("folded");
  const writer = writerForExtension(path);
  if (!writer) {
    throw new UsageError(
      `cannot tell the output format from '${path}'`,
      `use --format ${FORMAT_NAMES.join("|")}, or an extension: ${knownExtensions()}`,
    );
  }
  return writer;
}

/**
 * The writer for an output of the capture and files commands: `format` when given, else the one
 * `path`'s extension names, else an SVG (as those commands always wrote; an unknown extension
 * too, where `chooseWriter` refuses it).
 */
export function writerForOutput(
  format: string | undefined,
  path: string | undefined,
): ProfileWriter {
  if (format !== undefined) return writerByName(format);
  return (path && writerForExtension(path)) || writerByName("svg");
}

/** Options of readProfile(s): the readers' and an input format to use instead of detecting. */
export interface ReadProfileOptions extends ReadOptions {
  /** A reader's name: skip detection. */
  from?: string;
}

/** Reads an opened input with the reader `from` names, or the one its head shows. */
export async function readFormatInput(
  input: FormatInput,
  options: ReadProfileOptions = {},
): Promise<ReadResult & { format: string }> {
  const reader = options.from !== undefined ? readerByName(options.from) : detectReader(input.head);
  if (!reader) {
    await input.readable.cancel().catch(() => {});
    throw new FlameError(unknownFormatMessage(input.name, input.head));
  }
  const result = await reader.read(input, options);
  return { ...result, format: reader.name };
}

function unknownFormatMessage(name: string, head: Uint8Array): string {
  if (head.length === 0) return `${name}: the input is empty`;
  const text = decoder.decode(head.subarray(0, 256)).trimStart();
  const json = text.startsWith("{") || text.startsWith("[");
  return `${name}: ${json ? "JSON, but " : ""}not a profile format flame reads (${
    READERS.map((r) => r.name).join(", ")
  })`;
}

/** Opens `path` (stdin for `-`/undefined) and reads it into a Profile, whatever its format. */
export async function readProfile(
  path: string | undefined,
  options: ReadProfileOptions = {},
): Promise<ReadResult & { format: string }> {
  return readFormatInput(await openFormatInput(path), options);
}

/**
 * Reads every input (stdin for `-`) and merges them into one profile: their stacks summed,
 * which needs one unit. Warnings are prefixed with nothing more: readers name their input.
 */
export async function readProfiles(
  paths: string[],
  options: ReadProfileOptions = {},
): Promise<{ profile: Profile; warnings: string[]; formats: string[] }> {
  const results = [];
  for (const path of paths.length ? paths : ["-"]) results.push(await readProfile(path, options));
  const warnings = results.flatMap((r) => r.warnings);
  const profile = mergeProfiles(
    results.map((r) => r.profile),
    results.map((r, i) => r.profile.meta.name ?? paths[i] ?? "<stdin>"),
  );
  return { profile, warnings, formats: results.map((r) => r.format) };
}

/**
 * Writes `profile` with `writer` to `path` (stdout when undefined or `-`), atomically for a
 * file: the bytes are produced first, then written to a temp file renamed over `path`, so a
 * failure leaves no half-written file. Returns the writer's warnings.
 */
export async function writeProfile(
  path: string | undefined,
  profile: Profile,
  writer: ProfileWriter,
  options: WriteOptions = {},
): Promise<string[]> {
  const chunks: Uint8Array[] = [];
  const warnings = await writer.write(profile, options, {
    write: (bytes) => {
      chunks.push(bytes);
      return Promise.resolve();
    },
  });
  await writeBytesOutput(path, chunks);
  return warnings;
}

/** Encodes `profile` with `writer` into one array of bytes (for a push, or a test). */
export async function encodeProfile(
  profile: Profile,
  writer: ProfileWriter,
  options: WriteOptions = {},
): Promise<{ bytes: Uint8Array; warnings: string[] }> {
  const chunks: Uint8Array[] = [];
  const warnings = await writer.write(profile, options, {
    write: (bytes) => {
      chunks.push(bytes);
      return Promise.resolve();
    },
  });
  const total = chunks.reduce((s, c) => s + c.byteLength, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return { bytes, warnings };
}
