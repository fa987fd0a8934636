/**
 * Finding CPython in a process: which mapped file holds the interpreter (libpythonX.Y.so, the
 * python executable, or a program that links libpython statically), its version, where its
 * runtime state is (`_PyRuntime`, the `.PyRuntime` section, or 2.7/3.6's `interp_head`), and
 * the structure layout to read it with (the generated table, and from 3.13 the interpreter's
 * own `_Py_DebugOffsets`).
 */
import { FlameError } from "../errors.ts";
import { ElfError, type ElfFile, findSection, loadBias, readElf } from "./elf.ts";
import { type Mapping, parseMaps } from "./maps.ts";
import { type Layout, type LayoutField, LAYOUTS } from "./layouts.ts";
import { MemoryError, openProcessMemory, type ProcessMemory } from "./memory.ts";

/** The process is not running CPython (as far as its files tell). */
export class NotPythonError extends FlameError {
  constructor(message: string) {
    super(message);
    this.name = "NotPythonError";
  }
}

/** A CPython version. */
export interface PythonVersion {
  major: number;
  minor: number;
  /** The micro (patch) release, where the process tells it (3.11+). */
  micro?: number;
  /** PY_VERSION_HEX where known. */
  hex?: number;
}

/** Everything needed to read one Python process. */
export interface PythonTarget {
  pid: number;
  version: PythonVersion;
  /** The file the interpreter is in (libpython or the executable). */
  binary: string;
  /** The process's executable. */
  executable: string;
  memory: ProcessMemory;
  /** Offsets and sizes, resolved for this process (debug offsets applied on 3.13+). */
  layout: Layout;
  /** Where `_PyRuntime` is (3.7+). */
  runtime?: number;
  /** Where 2.7/3.6 keep the head of the interpreter list (`interp_head`). */
  interpHead?: number;
  /** Where 2.7/3.6 keep the thread holding the GIL (`_PyThreadState_Current`). */
  tstateCurrent?: number;
  /** Addresses of type objects, to check what a pointer points at. */
  types: { code?: number; frame?: number; unicode?: number; bytes?: number; dict?: number };
  /** Whether the debug offsets (3.13+) were read from the process. */
  debugOffsets: boolean;
}

/** The `_Py_DebugOffsets` cookie at the start of `_PyRuntime` (3.13+). */
const COOKIE = "xdebugpy";

const WANTED = [
  "_PyRuntime",
  "interp_head",
  "_PyThreadState_Current",
  "Py_Version",
  "PyCode_Type",
  "PyFrame_Type",
  "PyUnicode_Type",
  "PyBytes_Type",
  "PyString_Type",
  "PyDict_Type",
] as const;

/** True when a path's base name is CPython's shared library. */
function isLibpython(path: string): boolean {
  return /(?:^|\/)libpython\d\.\d+[a-z]*\.so/.test(path);
}

/** The version a file name tells (`libpython3.9.so.1.0`, `python3.11`, `python2.7`). */
export function versionFromName(path: string): PythonVersion | undefined {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const m = /python(\d)\.(\d+)/.exec(base);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

function readProcText(path: string, pid: number): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw noProcess(pid);
    if (err instanceof Deno.errors.PermissionDenied) throw refused(pid);
    throw err;
  }
}

/** The error for a pid that does not exist (or has exited). */
export function noProcess(pid: number): FlameError {
  return new FlameError(`no process ${pid} (it does not exist or has exited)`);
}

/** The error for a refused attach: says why it may be refused and what would work. */
export function refused(pid: number): FlameError {
  let owner = "";
  try {
    const uid = Deno.statSync(`/proc/${pid}`).uid;
    if (uid !== null && uid !== Deno.uid()) {
      owner = ` (it belongs to uid ${uid}, you are ${Deno.uid()})`;
    }
  } catch { /* the reason stays general */ }
  let yama = "";
  try {
    const scope = Deno.readTextFileSync("/proc/sys/kernel/yama/ptrace_scope").trim();
    if (scope !== "0") yama = `; kernel.yama.ptrace_scope is ${scope}`;
  } catch { /* no Yama */ }
  return new FlameError(
    `not permitted to read process ${pid}'s memory${owner}${yama}`,
    1,
    "run flame as the process's user or as root (sudo), or grant CAP_SYS_PTRACE (in a container: " +
      "--cap-add SYS_PTRACE); with Yama, 'sysctl kernel.yama.ptrace_scope=0' allows same-user " +
      "attach, or start the program under 'flame run'",
  );
}

function fromMemoryError(pid: number, err: MemoryError): FlameError {
  return err.reason === "refused" ? refused(pid) : noProcess(pid);
}

/** The path to open for a file a process maps (its own root, for containers). */
function fsPath(pid: number, path: string): string {
  const inRoot = `/proc/${pid}/root${path}`;
  try {
    Deno.statSync(inRoot);
    return inRoot;
  } catch {
    return path;
  }
}

interface Candidate {
  path: string;
  symbols: ReadonlyMap<string, { value: number }>;
  runtimeSection?: number;
  bias: number;
}

/** What discovery needs of one ELF file. */
export interface ElfFacts {
  /** Its loadable segments, for the load bias in a process. */
  segments: ElfFile["segments"];
  /** The symbols of WANTED it defines. */
  symbols: ReadonlyMap<string, { value: number }>;
  /** The address of its `.PyRuntime` section, if it has one. */
  runtimeSection?: number;
}

/** How many files' facts are kept. */
const FACTS_KEPT = 16;
const factsByFile = new Map<string, ElfFacts>();

/**
 * The facts of the ELF file `fsPath` (named `path` in errors), parsed once per file: a program
 * that is still starting is looked at again on every tick until it is Python, and children map
 * their parent's files. The file's device, inode, size and modification time identify it, so a
 * file replaced on disk is parsed afresh.
 */
export function elfFacts(path: string, fsPath: string): ElfFacts {
  const stat = Deno.statSync(fsPath);
  const key = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtime?.getTime()}`;
  let facts = factsByFile.get(key);
  if (facts === undefined) {
    const elf = readElf(path, fsPath);
    facts = {
      segments: elf.segments,
      symbols: elf.symbols(WANTED),
      runtimeSection: findSection(elf, ".PyRuntime")?.addr,
    };
    if (factsByFile.size >= FACTS_KEPT) factsByFile.delete(factsByFile.keys().next().value!);
    factsByFile.set(key, facts);
  }
  return facts;
}

function candidates(pid: number, maps: Mapping[], exe: string): Candidate[] {
  const paths: string[] = [];
  for (const m of maps) {
    const p = m.path.replace(/ \(deleted\)$/, "");
    if (m.inode !== 0 && isLibpython(p) && !paths.includes(p)) paths.push(p);
  }
  if (!paths.includes(exe)) paths.push(exe);
  const out: Candidate[] = [];
  for (const path of paths) {
    let facts: ElfFacts;
    try {
      facts = elfFacts(path, fsPath(pid, path));
    } catch (err) {
      if (err instanceof ElfError || err instanceof Deno.errors.NotFound) continue;
      if (err instanceof Deno.errors.PermissionDenied) continue;
      throw err;
    }
    const own = maps.filter((m) => m.path.replace(/ \(deleted\)$/, "") === path);
    const bias = loadBias(facts, own);
    if (bias === undefined) continue;
    out.push({ path, symbols: facts.symbols, runtimeSection: facts.runtimeSection, bias });
  }
  return out;
}

/** An exact copy of `layout` to fill in. */
type MutableLayout = Partial<Record<LayoutField, number>>;

function u64(bytes: Uint8Array, at: number): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return v.getUint32(at + 4, true) * 2 ** 32 + v.getUint32(at, true);
}

/** The entries of the `_Py_DebugOffsets` header itself: where fields are, not fields. */
const DEBUG_HEADER = new Set([
  "debug.cookie",
  "debug.version",
  "debug.free_threaded",
  "debug.size",
]);

/**
 * Reads the interpreter's `_Py_DebugOffsets` (laid out as `header` says): the offsets of the
 * fields it states, and whether the build is free-threaded; undefined when the cookie is
 * missing.
 */
function readDebugOffsets(
  memory: ProcessMemory,
  runtime: number,
  header: Layout,
): { layout: MutableLayout; freeThreaded: boolean } | undefined {
  const size = header["debug.size"] ?? 0;
  if (size <= 0 || size > 65536) return undefined;
  const bytes = new Uint8Array(size);
  memory.readInto(runtime, bytes);
  if (new TextDecoder().decode(bytes.subarray(0, 8)) !== COOKIE) return undefined;
  const layout: MutableLayout = {};
  for (const [key, at] of Object.entries(header)) {
    if (!key.startsWith("debug.") || DEBUG_HEADER.has(key) || at === undefined) continue;
    if (at + 8 > size) continue;
    layout[key.slice("debug.".length) as LayoutField] = u64(bytes, at);
  }
  const flagAt = header["debug.free_threaded"];
  const freeThreaded = flagAt !== undefined && flagAt + 8 <= size && u64(bytes, flagAt) !== 0;
  return { layout, freeThreaded };
}

/** Reads `Py_Version` (3.11+): PY_VERSION_HEX as a 32-bit word. */
function versionFromHex(hex: number): PythonVersion {
  return { major: (hex >>> 24) & 0xff, minor: (hex >>> 16) & 0xff, micro: (hex >>> 8) & 0xff, hex };
}

/** How to look (for tests of each way in). */
export interface DiscoverOptions {
  /**
   * Use the `_PyRuntime` symbol (default true). Without it, 3.10+ is found through its
   * `.PyRuntime` section, as in a binary stripped of its symbols.
   */
  runtimeSymbol?: boolean;
}

/**
 * Finds CPython in process `pid` and opens its memory. Throws FlameError: no such process,
 * refused, not a Python process, stripped with no way in, unsupported version.
 */
export function discoverPython(pid: number, options: DiscoverOptions = {}): PythonTarget {
  if (!Number.isInteger(pid) || pid <= 0) throw new FlameError(`not a process id: ${pid}`);
  const maps = parseMaps(readProcText(`/proc/${pid}/maps`, pid));
  if (maps.length === 0) {
    // A kernel thread, a zombie, or no access: /proc/PID/maps reads empty.
    try {
      Deno.readLinkSync(`/proc/${pid}/exe`);
    } catch (err) {
      if (err instanceof Deno.errors.PermissionDenied) throw refused(pid);
      if (err instanceof Deno.errors.NotFound) throw noProcess(pid);
    }
    throw new FlameError(`process ${pid} has no memory mappings (a kernel thread or a zombie)`);
  }
  let exe = "";
  try {
    exe = Deno.readLinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
  } catch (err) {
    if (err instanceof Deno.errors.PermissionDenied) throw refused(pid);
    exe = maps.find((m) => m.path.startsWith("/"))?.path ?? "";
  }
  const found = candidates(pid, maps, exe);
  // The candidates' symbols are the cached facts of their files: an option only hides one.
  const symbolOf = (c: Candidate, name: string) =>
    name === "_PyRuntime" && options.runtimeSymbol === false ? undefined : c.symbols.get(name);
  const hit = found.find((c) =>
    symbolOf(c, "_PyRuntime") !== undefined || c.symbols.has("interp_head") ||
    c.runtimeSection !== undefined
  );
  if (!hit) throw notFound(pid, exe, found);

  const sym = (name: string) => {
    const s = symbolOf(hit, name);
    return s === undefined ? undefined : s.value + hit.bias;
  };
  const runtime = sym("_PyRuntime") ??
    (hit.runtimeSection !== undefined ? hit.runtimeSection + hit.bias : undefined);
  const interpHead = sym("interp_head");
  const probe = runtime ?? interpHead!;
  let memory: ProcessMemory;
  try {
    memory = openProcessMemory(pid, probe);
  } catch (err) {
    if (err instanceof MemoryError) throw fromMemoryError(pid, err);
    throw err;
  }

  try {
    let version: PythonVersion | undefined;
    const pyVersion = sym("Py_Version");
    if (pyVersion !== undefined) {
      const b = new Uint8Array(4);
      memory.readInto(pyVersion, b);
      version = versionFromHex(new DataView(b.buffer).getUint32(0, true));
    }
    version ??= versionFromName(hit.path) ?? versionFromName(exe);
    // 3.13+ starts _PyRuntime with _Py_DebugOffsets: its cookie and version never move; the
    // rest of its layout is the table's entry for that minor version.
    let layout: MutableLayout = {};
    let debugOffsets = false;
    if (
      runtime !== undefined && (version === undefined || version.major * 100 + version.minor >= 313)
    ) {
      const head = new Uint8Array(16);
      memory.readInto(runtime, head);
      if (new TextDecoder().decode(head.subarray(0, 8)) === COOKIE) {
        version = versionFromHex(u64(head, 8));
        const header = LAYOUTS[`${version.major}.${version.minor}`];
        if (header?.["debug.size"] === undefined) throw unsupported(version, true);
        const read = readDebugOffsets(memory, runtime, header);
        if (read === undefined) throw unsupported(version, true);
        if (read.freeThreaded) {
          throw new FlameError(
            `Python ${versionText(version)} is a free-threaded (no-GIL) build, which flame ` +
              "cannot read yet",
            1,
            "profile the same program under the default (GIL) build of Python",
          );
        }
        debugOffsets = true;
        layout = read.layout;
      }
    }
    if (!version) {
      throw new FlameError(
        `${hit.path}: cannot tell which Python version this is`,
        1,
        "flame reads libpythonX.Y and pythonX.Y binaries, and any 3.11+ build (Py_Version)",
      );
    }
    const table = LAYOUTS[`${version.major}.${version.minor}`];
    if (!table) throw unsupported(version, false);
    const resolved: MutableLayout = { ...table, ...layout };
    if (debugOffsets) {
      // The embedded GIL (3.13's debug offsets) replaces the table's pointer path.
      delete resolved["interp.ceval_gil"];
    }
    if (runtime === undefined && interpHead === undefined) throw notFound(pid, exe, found);
    const needsRuntime = version.major === 3 && version.minor >= 7;
    if (needsRuntime && runtime === undefined) throw notFound(pid, exe, found);
    if (!needsRuntime && interpHead === undefined) throw notFound(pid, exe, found);
    return {
      pid,
      version,
      binary: hit.path,
      executable: exe,
      memory,
      layout: resolved,
      runtime: needsRuntime ? runtime : undefined,
      interpHead: needsRuntime ? undefined : interpHead,
      tstateCurrent: sym("_PyThreadState_Current"),
      types: {
        code: sym("PyCode_Type"),
        frame: sym("PyFrame_Type"),
        unicode: sym("PyUnicode_Type"),
        bytes: sym("PyBytes_Type") ?? sym("PyString_Type"),
        dict: sym("PyDict_Type"),
      },
      debugOffsets,
    };
  } catch (err) {
    memory.close();
    if (err instanceof MemoryError) throw fromMemoryError(pid, err);
    throw err;
  }
}

/** The version as text: `3.11.7`, or `3.9` where the micro release is unknown. */
export function versionText(v: PythonVersion): string {
  return v.micro === undefined ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.micro}`;
}

/** The error for a version the table has no layout for. */
function unsupported(version: PythonVersion, debugOffsets: boolean): FlameError {
  const known = Object.keys(LAYOUTS).join(", ");
  return new FlameError(
    `Python ${versionText(version)} is not supported (flame knows ${known})`,
    1,
    debugOffsets
      ? "its _Py_DebugOffsets give every offset; flame needs only that header's layout: run " +
        "scripts/python-offsets/generate.ts against this version's headers and rebuild"
      : "run scripts/python-offsets/generate.ts against this version's headers and rebuild",
  );
}

/** The error when no interpreter state was found: not Python, or Python stripped bare. */
function notFound(pid: number, exe: string, found: Candidate[]): FlameError {
  const python = found.find((c) => isLibpython(c.path) || versionFromName(c.path));
  if (python) {
    const v = versionFromName(python.path);
    const what = v && v.major === 3 && v.minor >= 7 ? "_PyRuntime" : "interp_head";
    return new FlameError(
      `${python.path} is stripped: the symbol ${what} that locates the interpreter is gone`,
      1,
      "use an unstripped build of Python (or install its debug symbols package); Python " +
        "3.10 and later keep a .PyRuntime section that survives stripping",
    );
  }
  return new NotPythonError(
    `process ${pid} (${exe || "unknown executable"}) is not a Python process: ` +
      "no libpython and no CPython symbols in it",
  );
}
