/**
 * The directory walk behind `flame files`: each DIR becomes a root frame, each entry below it a
 * frame under its directory, valued like du counts it:
 *
 * - apparent sizes from lstat (`du -b`), or allocated blocks (`du --block-size=1`), or one per
 *   entry (`du --inodes`);
 * - a directory's own size is its own frame's self value; symbolic links are not followed
 *   (their own size counts); FIFOs, sockets and devices count their own size;
 * - a file with several hard links counts once per run, across all DIRs (as one du run does);
 *   a DIR given twice is walked once;
 * - with `oneFileSystem`, directories on another device than their DIR are left out entirely
 *   (as `du -x` does, mount point included).
 *
 * Faults never stop the walk: an unreadable directory still counts its own size, an entry that
 * vanished is left out, a directory that contains itself (a bind mount loop) is not entered
 * twice; each is tallied with its reason and first path for one summary line.
 *
 * Two implementations: `native` reads raw getdents64 records and statx through FFI (libc.ts), at
 * du's speed; `portable` uses Deno.readDirSync and Deno.lstatSync, about 2x slower, and cannot
 * stat names that are not valid UTF-8 (Deno decodes them to U+FFFD), which it tallies as skipped.
 */
import { AT_FDCWD, ERRNO, type Libc, openLibc, StatBuffer } from "./libc.ts";

/** What an entry is worth. */
export type Measure = "bytes" | "blocks" | "count";

/**
 * Receives the walk as it happens, depth first. Names are raw bytes (`name[start..end)`, not
 * escaped, valid only during the call) so the folded output can copy them without strings.
 */
export interface WalkSink {
  /** A directory (its own value); the entries that follow are inside it until `leave`. */
  enter(name: Uint8Array, start: number, end: number, value: number): void;
  /** An entry that is not an entered directory. */
  entry(name: Uint8Array, start: number, end: number, value: number): void;
  /** Ends the directory of the matching `enter`. */
  leave(): void;
}

/** How to walk. */
export interface WalkOptions {
  /** Bytes (apparent size), blocks (allocated bytes) or count (entries). Default bytes. */
  measure?: Measure;
  /** Stay on each DIR's file system (`du -x`). */
  oneFileSystem?: boolean;
  /** Called every few thousand entries with the entries and the total so far. */
  onProgress?: (entries: number, total: number) => void;
  /** Force an implementation; default native when available, else portable. */
  method?: "native" | "portable";
}

/** How often a skip reason occurred and where first. */
export interface SkipTally {
  count: number;
  /** The first path it happened to. */
  example: string;
}

/** What the walk found besides the frames. */
export interface WalkStats {
  /** Entries counted (roots included, hard-link repeats not). */
  entries: number;
  /** Sum of the values. */
  total: number;
  /** Reason to tally: unreadable directories, vanished entries, directory cycles. */
  skipped: Map<string, SkipTally>;
  /** Hard links to a file already counted, left out. */
  hardLinks: number;
  /** Directories left out because they are on another file system (`oneFileSystem`). */
  otherFileSystems: number;
  /** The implementation that ran. */
  method: "native" | "portable";
}

const PROGRESS_EVERY = 4096;

/** State shared by both implementations: values, dedupe sets, tallies, progress. */
class WalkState {
  readonly stats: WalkStats;
  readonly #measure: Measure;
  readonly #onProgress?: (entries: number, total: number) => void;
  readonly #linked = new Set<string>();
  readonly #roots = new Set<string>();
  /** Identities of the directories on the current path, to refuse entering one again. */
  readonly ancestors = new Set<string>();

  constructor(options: WalkOptions, method: "native" | "portable") {
    this.#measure = options.measure ?? "bytes";
    this.#onProgress = options.onProgress;
    this.stats = {
      entries: 0,
      total: 0,
      skipped: new Map(),
      hardLinks: 0,
      otherFileSystems: 0,
      method,
    };
  }

  /** Counts an entry and returns its value. */
  count(size: number, blocks: number): number {
    const m = this.#measure;
    const value = m === "bytes" ? size : m === "blocks" ? blocks * 512 : 1;
    const s = this.stats;
    s.total += value;
    if (++s.entries % PROGRESS_EVERY === 0) this.#onProgress?.(s.entries, s.total);
    return value;
  }

  /** True the first time a multiply-linked file is seen; tallies repeats. */
  firstLink(key: string): boolean {
    if (this.#linked.has(key)) {
      this.stats.hardLinks++;
      return false;
    }
    this.#linked.add(key);
    return true;
  }

  /** True the first time a DIR is seen (`flame files a a` walks `a` once). */
  firstRoot(key: string): boolean {
    if (this.#roots.has(key)) return false;
    this.#roots.add(key);
    return true;
  }

  /** Tallies a skipped entry. */
  skip(reason: string, path: string): void {
    const t = this.stats.skipped.get(reason);
    if (t) t.count++;
    else this.stats.skipped.set(reason, { count: 1, example: path });
  }

  /** Final progress call. */
  finish(): void {
    this.#onProgress?.(this.stats.entries, this.stats.total);
  }
}

/** Reason strings for skipped entries. */
export const REASONS = {
  denied: "permission denied",
  vanished: "vanished during the walk",
  cycle: "directory cycle (a bind mount inside itself)",
  io: "I/O error",
  fds: "too many open files (very deep tree)",
  long: "path too long",
  // Links are never followed: ENOTDIR or ELOOP mean a directory was listed, then replaced.
  replaced: "replaced during the walk",
  badName: "name not valid UTF-8 (the portable walk cannot open it)",
} as const;

/** The reason for a failed call's errno. */
export function reasonForErrno(errno: number): string {
  switch (errno) {
    case ERRNO.EACCES:
    case ERRNO.EPERM:
      return REASONS.denied;
    case ERRNO.ENOENT:
      return REASONS.vanished;
    case ERRNO.ENOTDIR:
      return REASONS.replaced;
    case ERRNO.EIO:
      return REASONS.io;
    case ERRNO.EMFILE:
    case ERRNO.ENFILE:
      return REASONS.fds;
    case ERRNO.ENAMETOOLONG:
      return REASONS.long;
    case ERRNO.ELOOP:
      return REASONS.replaced;
    default:
      return `error ${errno}`;
  }
}

/** A DIR as the user wrote it, for its root frame: trailing slashes dropped (`/` stays `/`). */
export function rootName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed !== "" ? trimmed : path === "" ? "." : "/";
}

/**
 * Walks each of `roots` into `sink` and returns what it found. A root that cannot be stat'ed
 * is tallied as skipped (the CLI checks them first, to fail with one clear line). The walk is
 * synchronous: one loop of system calls, like du.
 */
export function walk(
  roots: readonly string[],
  sink: WalkSink,
  options: WalkOptions = {},
): WalkStats {
  const libc = options.method === "portable" ? undefined : openLibc();
  if (options.method === "native" && !libc) {
    throw new Error("the native walk needs Linux, glibc and --allow-ffi");
  }
  const state = new WalkState(options, libc ? "native" : "portable");
  const oneFs = options.oneFileSystem ?? false;
  const walker = libc
    ? new NativeWalker(libc, state, sink, oneFs)
    : new PortableWalker(state, sink, oneFs);
  for (const root of roots) walker.root(root);
  state.finish();
  return state.stats;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const DIRENT_BUFFER = 32 * 1024;
/** Longest file name on Linux (NAME_MAX) plus its NUL. */
const NAME_BUFFER = 256;

/** A subdirectory seen in a listing, entered once the listing is done. */
interface PendingDir {
  /** NUL-terminated name bytes. */
  nameZ: Uint8Array;
  value: number;
  key: string;
}

/** Where a directory is; made into a path string only for messages. */
interface PathRef {
  parent: PathRef | undefined;
  /** The root's path as given, or a NUL-terminated name. */
  name: string | Uint8Array;
}

/** The path of `ref` (plus a NUL-terminated child name, if given) for messages. */
function pathText(ref: PathRef, childZ?: Uint8Array): string {
  const parts: string[] = [];
  if (childZ) parts.push(nameText(childZ));
  for (let r: PathRef | undefined = ref; r; r = r.parent) {
    parts.push(typeof r.name === "string" ? r.name.replace(/\/+$/, "") : nameText(r.name));
  }
  return parts.reverse().join("/") || "/";
}

/** A NUL-terminated name as text, for messages. */
function nameText(nameZ: Uint8Array): string {
  return decoder.decode(nameZ.subarray(0, nameZ.length - 1));
}

/** An entered directory on the walk's stack. */
interface OpenDir {
  fd: number;
  key: string;
  path: PathRef;
  /** Its subdirectories, and the next one to enter. */
  pending: PendingDir[];
  next: number;
}

/**
 * The FFI walk: getdents64 records, statx relative to the directory's descriptor (no path
 * lookups), one loop over an explicit stack. A directory is read to the end before its
 * subdirectories are entered, so one getdents buffer serves the whole walk and a descriptor is
 * held per level of depth only.
 */
class NativeWalker {
  readonly #st = new StatBuffer();
  readonly #buf = new Uint8Array(DIRENT_BUFFER);
  readonly #view = new DataView(this.#buf.buffer);
  /** The current name, NUL-terminated, for statx (a copy is cheaper than a subarray). */
  readonly #nameZ = new Uint8Array(NAME_BUFFER);
  readonly #stack: OpenDir[] = [];
  #rootDev = 0;

  constructor(
    private readonly libc: Libc,
    private readonly state: WalkState,
    private readonly sink: WalkSink,
    private readonly oneFileSystem: boolean,
  ) {}

  root(path: string): void {
    const { libc, state, sink } = this;
    const st = this.#st;
    const pathZ = encoder.encode(path + "\0");
    if (libc.lstatAt(AT_FDCWD, pathZ, st) !== 0) {
      state.skip(reasonForErrno(libc.errno()), path);
      return;
    }
    const key = st.fileKey;
    if (st.isDirectory && !state.firstRoot(key)) return;
    if (!st.isDirectory && st.nlink > 1 && !state.firstLink(key)) return;
    const value = state.count(st.size, st.blocks);
    const name = encoder.encode(rootName(path));
    if (!st.isDirectory) {
      sink.entry(name, 0, name.length, value);
      return;
    }
    this.#rootDev = st.dev;
    sink.enter(name, 0, name.length, value);
    try {
      this.#open(AT_FDCWD, pathZ, key, { parent: undefined, name: path });
      this.#run();
    } finally {
      for (const dir of this.#stack) libc.close(dir.fd);
      this.#stack.length = 0;
      state.ancestors.clear();
    }
  }

  /** Opens and lists a directory the sink has entered; on failure, leaves it at once. */
  #open(parentFd: number, nameZ: Uint8Array, key: string, path: PathRef): void {
    const fd = this.libc.openDir(parentFd, nameZ);
    if (fd < 0) {
      this.state.skip(reasonForErrno(this.libc.errno()), pathText(path));
      this.sink.leave();
      return;
    }
    this.state.ancestors.add(key);
    this.#stack.push({ fd, key, path, pending: this.#list(fd, path), next: 0 });
  }

  /** Walks until the stack is empty. */
  #run(): void {
    const stack = this.#stack;
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.pending.length) {
        const dir = top.pending[top.next++];
        this.sink.enter(dir.nameZ, 0, dir.nameZ.length - 1, dir.value);
        this.#open(top.fd, dir.nameZ, dir.key, { parent: top.path, name: dir.nameZ });
        continue;
      }
      stack.pop();
      this.libc.close(top.fd);
      this.state.ancestors.delete(top.key);
      this.sink.leave();
    }
  }

  /** Reads every record of `fd`: other entries go to the sink, subdirectories are returned. */
  #list(fd: number, path: PathRef): PendingDir[] {
    const { libc, state, sink } = this;
    const buf = this.#buf;
    const view = this.#view;
    const st = this.#st;
    const nameZ = this.#nameZ;
    const pending: PendingDir[] = [];
    for (;;) {
      const length = libc.readDir(fd, buf);
      if (length < 0) {
        state.skip(reasonForErrno(libc.errno()), pathText(path));
        break;
      }
      if (length === 0) break;
      // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name.
      for (let off = 0; off < length; off += view.getUint16(off + 16, true)) {
        const start = off + 19;
        const end = buf.indexOf(0, start);
        const n = end - start;
        if (buf[start] === 0x2e && (n === 1 || (n === 2 && buf[start + 1] === 0x2e))) continue;
        let z = nameZ;
        if (n < NAME_BUFFER) { for (let i = 0; i <= n; i++) nameZ[i] = buf[start + i]; }
        else z = buf.subarray(start, end + 1); // longer than NAME_MAX: some FUSE file systems
        if (libc.lstatAt(fd, z, st) !== 0) {
          state.skip(reasonForErrno(libc.errno()), pathText(path, buf.slice(start, end + 1)));
          continue;
        }
        if (st.isDirectory) {
          if (this.oneFileSystem && st.dev !== this.#rootDev) {
            state.stats.otherFileSystems++;
            continue;
          }
          const key = st.fileKey;
          if (state.ancestors.has(key)) {
            state.skip(REASONS.cycle, pathText(path, buf.slice(start, end + 1)));
            continue;
          }
          const value = state.count(st.size, st.blocks);
          pending.push({ nameZ: buf.slice(start, end + 1), value, key });
        } else {
          if (st.nlink > 1 && !state.firstLink(st.fileKey)) continue;
          sink.entry(buf, start, end, state.count(st.size, st.blocks));
        }
      }
    }
    return pending;
  }
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** The walk through Deno's own API, for systems without the FFI path. */
class PortableWalker {
  constructor(
    private readonly state: WalkState,
    private readonly sink: WalkSink,
    private readonly oneFileSystem: boolean,
  ) {}

  root(path: string): void {
    const { state, sink } = this;
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(path);
    } catch (err) {
      state.skip(reasonForError(err, path), path);
      return;
    }
    const key = `${st.dev}:${st.ino}`;
    if (st.isDirectory && !state.firstRoot(key)) return;
    if (!st.isDirectory && (st.nlink ?? 1) > 1 && !state.firstLink(key)) return;
    const value = state.count(st.size, st.blocks ?? 0);
    const name = encoder.encode(rootName(path));
    if (!st.isDirectory) {
      sink.entry(name, 0, name.length, value);
      return;
    }
    sink.enter(name, 0, name.length, value);
    state.ancestors.add(key);
    // As given: a trailing slash makes a link to a directory count as that directory.
    this.#directory(path, st.dev);
    state.ancestors.delete(key);
    sink.leave();
  }

  #directory(path: string, rootDev: number): void {
    const { state, sink } = this;
    const pending: { path: string; name: Uint8Array; value: number; key: string }[] = [];
    let names: string[];
    try {
      // readDir follows links: make sure this is still the directory that was listed.
      if (!Deno.lstatSync(path).isDirectory) throw new Deno.errors.NotADirectory(path);
      names = [...Deno.readDirSync(path)].map((e) => e.name);
    } catch (err) {
      state.skip(reasonForError(err, path), path);
      return;
    }
    for (const name of names) {
      const child = joinPath(path, name);
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(child);
      } catch (err) {
        state.skip(reasonForError(err, name), child);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      const bytes = encoder.encode(name);
      if (st.isDirectory) {
        if (this.oneFileSystem && st.dev !== rootDev) {
          state.stats.otherFileSystems++;
          continue;
        }
        if (state.ancestors.has(key)) {
          state.skip(REASONS.cycle, child);
          continue;
        }
        const value = state.count(st.size, st.blocks ?? 0);
        pending.push({ path: child, name: bytes, value, key });
      } else {
        if ((st.nlink ?? 1) > 1 && !state.firstLink(key)) continue;
        sink.entry(bytes, 0, bytes.length, state.count(st.size, st.blocks ?? 0));
      }
    }
    for (const dir of pending) {
      sink.enter(dir.name, 0, dir.name.length, dir.value);
      state.ancestors.add(dir.key);
      this.#directory(dir.path, rootDev);
      state.ancestors.delete(dir.key);
      sink.leave();
    }
  }
}

/** The reason for a Deno file-system error; `name` tells a mangled (non-UTF-8) name apart. */
function reasonForError(err: unknown, name: string): string {
  if (err instanceof Deno.errors.NotFound) {
    return name.includes("\ufffd") ? REASONS.badName : REASONS.vanished;
  }
  if (err instanceof Deno.errors.PermissionDenied) return REASONS.denied;
  if (err instanceof Deno.errors.NotADirectory) return REASONS.replaced;
  if (err instanceof Deno.errors.FilesystemLoop) return REASONS.replaced;
  const code = (err as { code?: string }).code;
  if (code === "EMFILE" || code === "ENFILE") return REASONS.fds;
  if (code === "ENAMETOOLONG") return REASONS.long;
  if (code === "EIO") return REASONS.io;
  return err instanceof Error ? err.message.split(":")[0] : String(err);
}
