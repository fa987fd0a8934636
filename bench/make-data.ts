/**
 * Makes the benchmark inputs in `bench/data/` (gitignored) from the perf recordings committed in
 * `fixtures/perf/`. The output is deterministic: the same bytes on every machine, so numbers
 * from different machines compare. It needs neither perf nor root.
 *
 *   deno run -A bench/make-data.ts [--force]
 *
 * - `perf-50mb.txt`: the six default-format recordings concatenated over and over, cut at the
 *   first sample boundary after 50,000,000 bytes. Real `perf script` text made on the reference machine.
 * - `perf-500mb.txt`: `perf-50mb.txt` ten times. It has the same unique stacks, so a streaming
 *   collapser should need about the same memory for both.
 * - `perf-varied-50mb.txt`: the same recordings, each copy varied the way real recordings vary
 *   (leaf instructions, PIDs, JIT addresses, garbage addresses), so that most samples are
 *   distinct as text, like a long or system-wide recording, and a collapser cannot get by on
 *   caching whole samples.
 * - `stacks-16k.folded`: 16,000 unique folded stacks (5.9 MB, 17.8 frames deep on average, 133 at
 *   most). Each is a real fixture stack cut at a random depth and continued by a random walk over
 *   the caller→callee edges perf recorded, so every frame name and every edge is real. Long lines are
 *   kept less often, and counts follow a Zipf-like curve, as in real profiles.
 * - `tree/`: 30,000 files in 3,000 directories, for the files walker. Files up to 4 KiB hold real
 *   bytes; larger ones are sparse (their size is apparent, and they use no disk blocks).
 */

import { prng } from "../test/prng.ts";

/** Bumped whenever the generator's output changes; stale data is then remade. */
export const DATA_VERSION = 2;

/** Where the inputs live: `bench/data/`. */
export const DATA_DIR = new URL("./data/", import.meta.url).pathname;

/** The default-format perf recordings the text inputs are built from, in a fixed order. */
export const SOURCE_FIXTURES = [
  "c-dwarf.perf.txt",
  "c-fp.perf.txt",
  "cpp-templates.perf.txt",
  "python313-perfjit.perf.txt",
  "node-basic-prof.perf.txt",
  "shell-pipeline.perf.txt",
];

const FIXTURE_DIR = new URL("../fixtures/perf/", import.meta.url).pathname;
const PERF_50_BYTES = 50_000_000;
const PERF_500_REPEAT = 10;
/**
 * How far (in bytes, either way) a varied sample's leaf instruction lands from the recorded
 * one: a hot loop spreads its samples over a few dozen instructions.
 */
const LEAF_SPREAD = 64;
/**
 * A caller calls on from one of this many call sites (its return address and offset differ by
 * CALL_SITE_STEP bytes each); a varied sample moves one of its callers to another site.
 * With the leaf's spread this makes 69% of the samples distinct as text (a system-wide
 * recording made here while a build ran: 58% of 20,478 samples) and 3% of the frame lines
 * (that recording: 12%, from its far larger code).
 */
const CALL_SITES = 4;
const CALL_SITE_STEP = 0x10;
/** Each varied copy is a new run: PIDs move by this much per copy... */
const COPY_PID_STEP = 1000;
/** ...times by this many seconds... */
const COPY_SECONDS = 100;
/** ...and JIT code (in `/tmp/perf-PID.map`) by this many bytes. */
const COPY_JIT_STEP = 0x100000;
const FOLDED_STACKS = 16_000;
/** A line is kept with probability (FOLDED_TYPICAL_LINE / length)²: this makes a 5–6 MB file. */
const FOLDED_TYPICAL_LINE = 120;
const FOLDED_MAX_DEPTH = 160;
const FOLDED_STOP = 0.08;
const TREE_DIRS = 3_000;
const TREE_FILES = 30_000;

/** One generated input, as recorded in `manifest.json`. */
export interface DataFile {
  /** Absolute path of the file or directory. */
  path: string;
  /** Bytes of the file; for a directory tree, the sum of the files' apparent sizes. */
  bytes: number;
  /** Lines of a text file; for a tree, its entries (files + directories). */
  items: number;
  /** What the items are: "lines" or "entries". */
  unit: "lines" | "entries";
  /** One line on what it is. */
  description: string;
}

/** `bench/data/manifest.json`: what was generated, by which generator version. */
export interface Manifest {
  version: number;
  files: Record<DataName, DataFile>;
}

/** The names of the inputs. */
export type DataName = "perf-50mb" | "perf-500mb" | "perf-varied-50mb" | "stacks-16k" | "tree";

/** Options of {@link ensureData}. */
export interface EnsureOptions {
  /** Remake everything even if the manifest says it is current. */
  force?: boolean;
  /** Progress messages (default: stderr). */
  log?: (message: string) => void;
}

/**
 * Returns the manifest of the benchmark inputs, generating them first when they are missing,
 * incomplete or from another generator version.
 */
export async function ensureData(options: EnsureOptions = {}): Promise<Manifest> {
  const log = options.log ?? ((m: string) => console.error(m));
  if (!options.force) {
    const current = await readManifest();
    if (current && await isComplete(current)) return current;
  }
  log(`bench data: generating in ${DATA_DIR}`);
  await Deno.mkdir(DATA_DIR, { recursive: true });
  await removeIfExists(manifestPath());
  const perf50 = await makePerf50(log);
  const perf500 = await makePerf500(perf50.path, perf50, log);
  const varied = await makePerfVaried(log);
  const folded = await makeFolded(log);
  const tree = await makeTree(log);
  const manifest: Manifest = {
    version: DATA_VERSION,
    files: {
      "perf-50mb": perf50,
      "perf-500mb": perf500,
      "perf-varied-50mb": varied,
      "stacks-16k": folded,
      tree,
    },
  };
  await Deno.writeTextFile(manifestPath(), JSON.stringify(manifest, null, 2) + "\n");
  return manifest;
}

function manifestPath(): string {
  return `${DATA_DIR}manifest.json`;
}

async function readManifest(): Promise<Manifest | null> {
  try {
    const m = JSON.parse(await Deno.readTextFile(manifestPath())) as Manifest;
    return m.version === DATA_VERSION ? m : null;
  } catch {
    return null;
  }
}

/** Cheap check that every file is still there with its recorded size. */
async function isComplete(m: Manifest): Promise<boolean> {
  for (const f of Object.values(m.files)) {
    try {
      const info = await Deno.stat(f.path);
      if (info.isFile && info.size !== f.bytes) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The source recordings concatenated once (each file ends with a blank line). */
async function readFixtureSet(): Promise<string> {
  const parts = await Promise.all(
    SOURCE_FIXTURES.map((name) => Deno.readTextFile(FIXTURE_DIR + name)),
  );
  return parts.map((p) => p.endsWith("\n\n") ? p : p.replace(/\n*$/, "\n\n")).join("");
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/** Repeats the fixture set, then cuts the last copy at the first sample boundary after the target. */
async function makePerf50(log: (m: string) => void): Promise<DataFile> {
  const set = await readFixtureSet();
  const setBytes = new TextEncoder().encode(set);
  const whole = Math.floor(PERF_50_BYTES / setBytes.length);
  const need = PERF_50_BYTES - whole * setBytes.length;
  const cut = need === 0 ? 0 : sampleBoundaryAfter(set, need);
  const tail = set.slice(0, cut);
  const path = `${DATA_DIR}perf-50mb.txt`;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let i = 0; i < whole; i++) await writeAll(file, setBytes);
    await writeAll(file, new TextEncoder().encode(tail));
  } finally {
    file.close();
  }
  const bytes = (await Deno.stat(path)).size;
  const items = whole * countLines(set) + countLines(tail);
  log(`bench data: perf-50mb.txt ${mb(bytes)} MB, ${items} lines`);
  return {
    path,
    bytes,
    items,
    unit: "lines",
    description:
      `${SOURCE_FIXTURES.length} fixture recordings repeated (default perf script format)`,
  };
}

/** Index just past the first blank line ending at or after `offset` (all ASCII before it). */
function sampleBoundaryAfter(text: string, offset: number): number {
  const i = text.indexOf("\n\n", Math.max(0, offset - 2));
  return i === -1 ? text.length : i + 2;
}

async function makePerf500(
  source: string,
  base: DataFile,
  log: (m: string) => void,
): Promise<DataFile> {
  const data = await Deno.readFile(source);
  const path = `${DATA_DIR}perf-500mb.txt`;
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let i = 0; i < PERF_500_REPEAT; i++) await writeAll(file, data);
  } finally {
    file.close();
  }
  const bytes = data.length * PERF_500_REPEAT;
  log(`bench data: perf-500mb.txt ${mb(bytes)} MB`);
  return {
    path,
    bytes,
    items: base.items * PERF_500_REPEAT,
    unit: "lines",
    description: `perf-50mb.txt ${PERF_500_REPEAT} times (same unique stacks)`,
  };
}

/** A default-format sample header: process name, PID(/TID), [CPU], time, and the rest. */
const SAMPLE_HEADER = /^(\S.*?\s)(\d+)((?:\/\d+)?\s+(?:\[\d+\]\s+)?)(\d+)(\.\d+:.*)$/;
/** A frame line: address, symbol (up to the last ` (`) and module. */
const FRAME_PARTS = /^\s*([0-9a-f]+) (.*) \((.*)\)$/;
/** A symbol's `+0x` offset. */
const SYMBOL_OFFSET = /^(.*)\+0x([0-9a-f]+)$/;
/** A JIT module named after its process: `/tmp/perf-PID.map`, `/tmp/jitted-PID-N.so`. */
const JIT_MODULE = /^(.*\/(?:perf|jitted)-)(\d+)([-.].*)$/;

/** A frame line in perf's layout: a tab, the address right-aligned in 16 columns, the rest. */
function frameLine(address: bigint, sym: string, offset: bigint | undefined, module: string) {
  const off = offset === undefined ? "" : `+0x${offset.toString(16)}`;
  return `\t${address.toString(16).padStart(16)} ${sym}${off} (${module})`;
}

/** A sample header as the `copy`-th run would print it: PIDs and times move on. */
function varyHeader(line: string, copy: number): string {
  const m = SAMPLE_HEADER.exec(line);
  if (!m) return line;
  const [, comm, pid, rest, seconds, tail] = m;
  return `${comm}${Number(pid) + copy * COPY_PID_STEP}${rest}` +
    `${Number(seconds) + copy * COPY_SECONDS}${tail}`;
}

/** How far a leaf frame moves: to an offset up to LEAF_SPREAD bytes away (not below 0). */
function leafShift(line: string, rand: () => number): bigint {
  const offset = SYMBOL_OFFSET.exec(FRAME_PARTS.exec(line)?.[2] ?? "")?.[2];
  if (offset === undefined) return 0n;
  const from = BigInt(`0x${offset}`);
  const to = from + BigInt(Math.floor(rand() * (2 * LEAF_SPREAD + 1)) - LEAF_SPREAD);
  return (to < 0n ? 0n : to) - from;
}

/**
 * A frame line as the `copy`-th run would print it, its address and offset moved by `shift`:
 * JIT modules are named after the new PID (and perf-map code moves), and a frame in no mapping
 * (`[unknown] ([unknown])`, what a frame-pointer walk through code without them reads) gets a
 * garbage address.
 */
function varyFrame(line: string, shift: bigint, copy: number, rand: () => number): string {
  const m = FRAME_PARTS.exec(line);
  if (!m) return line;
  const [, addr, symbol, module] = m;
  const withOffset = SYMBOL_OFFSET.exec(symbol);
  const sym = withOffset ? withOffset[1] : symbol;
  let address = BigInt(`0x${addr}`);
  let offset = withOffset ? BigInt(`0x${withOffset[2]}`) : undefined;
  if (offset !== undefined) {
    address += shift;
    offset += shift;
  }
  let name = module;
  const jit = JIT_MODULE.exec(module);
  if (jit) {
    name = `${jit[1]}${Number(jit[2]) + copy * COPY_PID_STEP}${jit[3]}`;
    if (jit[1].endsWith("perf-")) address += BigInt(copy * COPY_JIT_STEP);
  }
  if (sym === "[unknown]" && module === "[unknown]") {
    address = BigInt(Math.floor(rand() * 2 ** 32)) << 12n | BigInt(Math.floor(rand() * 4096));
  }
  return frameLine(address, sym, offset, name);
}

/**
 * One sample of a fixture recording as the `copy`-th run would record it: the leaf lands on
 * another instruction near the recorded one (and with it the inlined frames printed at the same
 * address), one caller calls from another site, and the header, JIT frames and frames in no
 * mapping change as {@link varyHeader} and {@link varyFrame} say.
 */
function varySample(block: string, copy: number, rand: () => number): string {
  const lines = block.split("\n");
  lines[0] = varyHeader(lines[0], copy);
  const leafAddress = FRAME_PARTS.exec(lines[1] ?? "")?.[1];
  const shift = leafShift(lines[1] ?? "", rand);
  const caller = 2 + Math.floor(rand() * Math.max(0, lines.length - 2));
  const site = BigInt(Math.floor(rand() * CALL_SITES) * CALL_SITE_STEP);
  for (let i = 1; i < lines.length; i++) {
    const leaf = FRAME_PARTS.exec(lines[i])?.[1] === leafAddress;
    const moved = leaf ? shift : i === caller ? site : 0n;
    lines[i] = varyFrame(lines[i], moved, copy, rand);
  }
  return lines.join("\n");
}

/** The fixture set as the `copy`-th run would record it (see {@link varySample}). */
export function varyRecordings(set: string, copy: number, rand: () => number): string {
  return set.split("\n\n").map((block) => block === "" ? block : varySample(block, copy, rand))
    .join("\n\n");
}

/** Varied copies of the fixture set, cut at the first sample boundary after 50,000,000 bytes. */
async function makePerfVaried(log: (m: string) => void): Promise<DataFile> {
  const set = await readFixtureSet();
  const rand = prng(0x7a71ed);
  const path = `${DATA_DIR}perf-varied-50mb.txt`;
  const encoder = new TextEncoder();
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  let bytes = 0;
  let items = 0;
  try {
    for (let copy = 0; bytes < PERF_50_BYTES; copy++) {
      let text = varyRecordings(set, copy, rand);
      const data = encoder.encode(text);
      if (bytes + data.length > PERF_50_BYTES) {
        text = text.slice(0, sampleBoundaryAfter(text, PERF_50_BYTES - bytes));
      }
      const out = encoder.encode(text);
      await writeAll(file, out);
      bytes += out.length;
      items += countLines(text);
    }
  } finally {
    file.close();
  }
  log(`bench data: perf-varied-50mb.txt ${mb(bytes)} MB, ${items} lines`);
  return {
    path,
    bytes,
    items,
    unit: "lines",
    description: `${SOURCE_FIXTURES.length} fixture recordings, each copy varied like a new run`,
  };
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

const FRAME_LINE = /^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)$/;

/**
 * The stacks of default-format `perf script` text as frame lists, root first, the process name
 * (comm) as the root frame. Offsets (`+0x1f`) are removed, as a collapser does.
 */
export function perfStacks(text: string): string[][] {
  const stacks: string[][] = [];
  for (const block of text.split("\n\n")) {
    const lines = block.split("\n").filter((l) => l.length > 0);
    if (lines.length < 2) continue;
    const comm = lines[0].trim().split(/\s+/)[0];
    const frames: string[] = [];
    for (const line of lines.slice(1)) {
      const m = FRAME_LINE.exec(line);
      if (m) frames.push(m[1].replace(/\+0x[0-9a-f]+$/, ""));
    }
    stacks.push([comm, ...frames.reverse()]);
  }
  return stacks;
}

/** Unique stacks in first-seen order. */
function uniqueStacks(stacks: string[][]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const s of stacks) {
    const key = s.join(";");
    if (!seen.has(key)) {
      seen.add(key);
      out.push(s);
    }
  }
  return out;
}

/** The call graph of the real stacks: frame → its callees, once per time perf saw the edge. */
function calleeGraph(pool: string[][]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const stack of pool) {
    for (let j = 1; j < stack.length; j++) {
      const list = graph.get(stack[j - 1]) ?? [];
      list.push(stack[j]);
      graph.set(stack[j - 1], list);
    }
  }
  return graph;
}

/**
 * One synthetic stack: a real stack cut at a random depth, then continued by a random walk over
 * edges perf really recorded. The walk ends at a frame that never called anything, or with
 * probability FOLDED_STOP at each step.
 */
function walkStack(pool: string[][], graph: Map<string, string[]>, rand: () => number): string[] {
  const base = pool[Math.floor(rand() * pool.length)];
  const stack = base.slice(0, 2 + Math.floor(rand() * (base.length - 1)));
  while (stack.length < FOLDED_MAX_DEPTH && rand() > FOLDED_STOP) {
    const callees = graph.get(stack[stack.length - 1]);
    if (!callees) break;
    stack.push(callees[Math.floor(rand() * callees.length)]);
  }
  return stack;
}

/** Generates the unique folded stacks with Zipf-like counts, sorted as collapsers print them. */
export function generateFolded(
  pool: string[][],
  n: number,
  seed = 0x5eed,
  typicalLine = FOLDED_TYPICAL_LINE,
): string {
  const rand = prng(seed);
  const graph = calleeGraph(pool);
  const seen = new Set<string>();
  const lines: string[] = [];
  while (lines.length < n) {
    const key = walkStack(pool, graph, rand).join(";");
    if (seen.has(key) || rand() > (typicalLine / key.length) ** 2) continue;
    seen.add(key);
    // Rank r (in generation order) gets about 5000 / r^0.9 samples, at least 1.
    const count = Math.max(1, Math.round(5000 / Math.pow(lines.length + 1, 0.9)));
    lines.push(`${key} ${count}`);
  }
  lines.sort();
  return lines.join("\n") + "\n";
}

async function makeFolded(log: (m: string) => void): Promise<DataFile> {
  const pool = uniqueStacks(perfStacks(await readFixtureSet()));
  const text = generateFolded(pool, FOLDED_STACKS);
  const path = `${DATA_DIR}stacks-16k.folded`;
  await Deno.writeTextFile(path, text);
  const bytes = (await Deno.stat(path)).size;
  log(`bench data: stacks-16k.folded ${mb(bytes)} MB, ${FOLDED_STACKS} unique stacks`);
  return {
    path,
    bytes,
    items: FOLDED_STACKS,
    unit: "lines",
    description: `${FOLDED_STACKS} unique stacks walked from ${pool.length} real fixture stacks`,
  };
}

/** A file size: mostly small, some large (log-uniform from 1 byte to 1 MiB), 2% empty. */
function fileSize(rand: () => number): number {
  if (rand() < 0.02) return 0;
  return Math.floor(Math.pow(2, rand() * 20));
}

/** Directory paths of the tree: each new directory goes under a random earlier one, depth ≤ 8. */
function treeDirs(rand: () => number): string[] {
  const dirs = [""];
  const depth = [0];
  while (dirs.length < TREE_DIRS + 1) {
    const parent = Math.floor(rand() * dirs.length);
    if (depth[parent] >= 8) continue;
    dirs.push(`${dirs[parent]}/d${dirs.length}`);
    depth.push(depth[parent] + 1);
  }
  return dirs;
}

async function makeTree(log: (m: string) => void): Promise<DataFile> {
  const root = `${DATA_DIR}tree`;
  await removeIfExists(root);
  const rand = prng(0x7ee);
  const dirs = treeDirs(rand);
  for (const d of dirs) await Deno.mkdir(root + d, { recursive: true });
  const small = new Uint8Array(4096).fill(0x61);
  let bytes = 0;
  for (let i = 0; i < TREE_FILES; i++) {
    const path = `${root}${dirs[Math.floor(rand() * dirs.length)]}/f${i}.dat`;
    const size = fileSize(rand);
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      if (size <= small.length) await writeAll(file, small.subarray(0, size));
      else await file.truncate(size);
    } finally {
      file.close();
    }
    bytes += size;
  }
  log(
    `bench data: tree/ ${TREE_FILES} files, ${dirs.length} directories, ${mb(bytes)} MB apparent`,
  );
  return {
    path: root,
    bytes,
    items: TREE_FILES + dirs.length,
    unit: "entries",
    description: `${TREE_FILES} files in ${dirs.length} directories (large files sparse)`,
  };
}

if (import.meta.main) {
  const manifest = await ensureData({ force: Deno.args.includes("--force") });
  for (const [name, f] of Object.entries(manifest.files)) {
    console.log(`${name}: ${f.path} (${mb(f.bytes)} MB, ${f.items} ${f.unit}): ${f.description}`);
  }
}
