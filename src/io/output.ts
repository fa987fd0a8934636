/**
 * Writing results: to stdout, or to a file atomically, so a failed or interrupted run never
 * leaves a half-written file, never clobbers anything but the file asked for, and leaves nothing
 * behind.
 *
 * - The data goes to a temporary file beside the output, created exclusively (O_EXCL: never
 *   through a planted symbolic link or into a planted file) under an unpredictable name, then
 *   renamed over the output. The output keeps its mode, and its owner where permitted.
 * - A temporary file is removed when anything fails, and on SIGINT/SIGTERM: while one is open,
 *   a listener removes it and exits 130/143 (commands with signal handling of their own say
 *   so with `signalsHandledByCaller` and call `removeTemporaryFiles` themselves). A synchronous
 *   producer keeps listeners from running, so there a small guard process removes the file if
 *   flame dies first.
 * - A symbolic link at the output is followed (as a shell's `>` would) unless it belongs to
 *   another user in a shared sticky directory like /tmp (the kernel's protected_symlinks rule,
 *   which may be off). Devices, pipes and terminals (`-o /dev/stdout`, `/dev/null`, anything
 *   under /dev or /proc) are written directly: nothing can be renamed over them.
 * - Failures are one line naming the path and the cause (no space left on device, read-only
 *   file system, permission denied, is a directory, ...).
 */
import { describeFileError, FlameError } from "../errors.ts";
import { quoteName } from "../terminal.ts";

const encoder = new TextEncoder();

/** Something text can be written to in pieces. */
export interface TextSink {
  write(text: string): Promise<void>;
}

/**
 * Buffers small writes into 256 KB blocks before handing them to `writeBytes`: fewer syscalls
 * and no per-line promise on the hot path.
 */
export class BufferedTextWriter implements TextSink {
  #parts: string[] = [];
  #size = 0;
  constructor(private readonly writeBytes: (bytes: Uint8Array) => Promise<void>) {}

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
    await this.writeBytes(encoder.encode(block));
  }
}

/** Takes whole blocks of bytes. */
export interface ByteWriter {
  write(bytes: Uint8Array): void;
}

// ---- errors ----

/** What an errno means for a file being written, in words. */
const CAUSES: Record<string, string> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENAMETOOLONG: "file name too long",
  EFBIG: "file too large",
  EIO: "input/output error",
  ELOOP: "too many levels of symbolic links",
  ETXTBSY: "text file busy",
};

/**
 * One line for a failure to write `path`: the path and the cause, never a stack trace or an
 * "internal error". Errors that are not the file system's pass through unchanged.
 */
export function describeWriteError(path: string, err: unknown): unknown {
  if (err instanceof FlameError || !(err instanceof Error)) return err;
  // `flame ... -o /dev/stdout | head`: the reader left, which the CLI takes quietly.
  if (err instanceof Deno.errors.BrokenPipe) return err;
  const code = (err as { code?: string }).code;
  if (err instanceof Deno.errors.NotFound || code === "ENOENT") {
    return new FlameError(
      `cannot write ${quoteName(path)}: the directory ${quoteName(dirname(path))} does not exist`,
    );
  }
  if (err instanceof Deno.errors.IsADirectory) {
    return new FlameError(`cannot write ${quoteName(path)}: is a directory`);
  }
  if (err instanceof Deno.errors.NotADirectory) {
    return new FlameError(`cannot write ${quoteName(path)}: ${CAUSES.ENOTDIR}`);
  }
  if (err instanceof Deno.errors.PermissionDenied && !code) {
    return new FlameError(`cannot write ${quoteName(path)}: permission denied`);
  }
  if (code && CAUSES[code]) {
    return new FlameError(`cannot write ${quoteName(path)}: ${CAUSES[code]}`);
  }
  if (code || err instanceof Deno.errors.PermissionDenied) {
    // Deno's message starts with the OS's words: "Broken pipe (os error 32): write".
    return new FlameError(`cannot write ${quoteName(path)}: ${err.message.split(" (os error")[0]}`);
  }
  return err;
}

// ---- paths ----

/** The directory part of a path ("." for a bare name). */
function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

/** True for paths under /dev or /proc: devices and descriptors, never a place for a temp file. */
function isSpecialTree(path: string): boolean {
  const p = absolute(path).replace(/\/+/g, "/");
  return p.startsWith("/dev/") || p.startsWith("/proc/");
}

/**
 * True when following the symbolic link `link` is safe: outside shared sticky directories
 * always; inside one (like /tmp) only when the link is ours or the directory owner's, as the
 * kernel's fs.protected_symlinks rule says. Another user's link there points wherever they
 * like: /etc/passwd, for a root flame.
 */
function mayFollow(link: string, info: Deno.FileInfo): boolean {
  let dir: Deno.FileInfo;
  try {
    dir = Deno.statSync(dirname(link));
  } catch {
    return false;
  }
  const shared = ((dir.mode ?? 0) & 0o1002) === 0o1002;
  return !shared || info.uid === Deno.uid() || info.uid === dir.uid;
}

/** Where the bytes go: a file replaced atomically, or a device/pipe written as it is. */
type Target =
  | { kind: "file"; path: string; existing?: Deno.FileInfo }
  | { kind: "direct"; path: string };

/** Works out where writing `path` goes; throws a one-line FlameError when it cannot. */
function resolveTarget(path: string): Target {
  if (isSpecialTree(path)) return { kind: "direct", path };
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "file", path };
    throw describeWriteError(path, err);
  }
  if (info.isFile) return { kind: "file", path, existing: info };
  if (info.isDirectory) throw new FlameError(`cannot write ${quoteName(path)}: is a directory`);
  if (!info.isSymlink) return { kind: "direct", path }; // a FIFO, socket or device
  if (!mayFollow(path, info)) {
    throw new FlameError(
      `cannot write ${
        quoteName(path)
      }: it is a symbolic link owned by another user in a shared directory`,
      1,
      "not followed (it could point anywhere); remove it or write elsewhere",
    );
  }
  let target: Deno.FileInfo;
  try {
    target = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new FlameError(`cannot write ${quoteName(path)}: a symbolic link to a missing file`);
    }
    throw describeWriteError(path, err);
  }
  if (target.isDirectory) throw new FlameError(`cannot write ${quoteName(path)}: is a directory`);
  if (!target.isFile) return { kind: "direct", path };
  const real = Deno.realPathSync(path);
  if (isSpecialTree(real)) return { kind: "direct", path };
  return { kind: "file", path: real, existing: target };
}

// ---- temporary files ----

/** Temporary files open right now (absolute paths). */
const openTemps = new Set<string>();

/**
 * Removes every temporary output file still open, at once and synchronously: for a signal
 * handler that is about to exit (the capture commands' own handlers call this).
 */
export function removeTemporaryFiles(): void {
  for (const tmp of openTemps) {
    try {
      Deno.removeSync(tmp);
    } catch { /* gone already */ }
  }
  openTemps.clear();
}

let callerHandlesSignals = false;
const listeners: [Deno.Signal, () => void][] = [];

/**
 * Says whether the running command handles SIGINT and SIGTERM itself (the capture commands:
 * a first Ctrl-C stops the recording gracefully). While it does, the writer installs no
 * listener of its own, and the command's handler must call `removeTemporaryFiles()` before it
 * exits. Otherwise a signal while a temporary file is open removes it and exits 130/143.
 */
export function signalsHandledByCaller(yes: boolean): void {
  callerHandlesSignals = yes;
  if (yes) stopListening();
  else if (openTemps.size > 0) listen();
}

function listen(): void {
  if (callerHandlesSignals || listeners.length > 0) return;
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    const fn = () => {
      removeTemporaryFiles();
      Deno.exit(status);
    };
    try {
      Deno.addSignalListener(signal, fn);
      listeners.push([signal, fn]);
    } catch { /* no such signal here */ }
  }
}

function stopListening(): void {
  for (const [signal, fn] of listeners.splice(0)) {
    try {
      Deno.removeSignalListener(signal, fn);
    } catch { /* removed already */ }
  }
}

/** 16 hex digits from the system's random source: a name nobody can guess in advance. */
function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An open temporary file beside its target. */
interface Temp {
  path: string;
  file: Deno.FsFile;
  target: string;
}

/**
 * Creates a temporary file beside `target` (exclusively, under a random name, so nothing
 * planted there is followed or reused), with the mode and, where permitted, the owner of the
 * file it will replace. `shown` is the path as the user gave it, for messages. `guard`, when
 * given, is started with each name before the file is made (so no moment passes with the file
 * unguarded) and cancelled when the name was taken.
 */
function createTemp(
  target: string,
  existing: Deno.FileInfo | undefined,
  shown: string,
  guard?: (path: string) => Guard,
): Temp & { guard?: Guard } {
  const dir = dirname(target);
  // Keep the name within NAME_MAX (255 bytes) whatever the output's name.
  const base = basename(target).slice(0, 180);
  // New files get the usual 0666 less the umask; a replaced file's mode is kept (below).
  const mode = existing ? existing.mode! & 0o777 : 0o666;
  for (let attempt = 0;; attempt++) {
    const path = absolute(`${dir}/${base}.${randomSuffix()}.tmp`);
    const watching = guard?.(path);
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(path, { write: true, createNew: true, mode });
    } catch (err) {
      watching?.cancel(); // the name is someone else's: its guard must not remove it
      // A name taken (planted, or a one-in-2^64 clash): take another.
      if (err instanceof Deno.errors.AlreadyExists && attempt < 8) continue;
      throw describeWriteError(shown, err);
    }
    openTemps.add(path);
    if (existing) keepModeAndOwner(path, file, existing);
    return { path, file, target, guard: watching };
  }
}

/** Gives the temporary file the replaced file's mode (the umask may have taken bits) and owner. */
function keepModeAndOwner(path: string, file: Deno.FsFile, existing: Deno.FileInfo): void {
  const now = file.statSync();
  const mode = existing.mode! & 0o777;
  try {
    if ((now.mode! & 0o777) !== mode) Deno.chmodSync(path, mode);
  } catch { /* keep the default */ }
  if (existing.uid === now.uid && existing.gid === now.gid) return;
  try {
    Deno.chownSync(path, existing.uid, existing.gid); // root may
  } catch {
    try {
      if (existing.gid !== now.gid) Deno.chownSync(path, null, existing.gid); // a member may
    } catch { /* not permitted: the file is ours */ }
  }
}

/** Closes and renames the temporary file over its target. */
function commitTemp(temp: Temp, shown: string): void {
  try {
    temp.file.close();
    Deno.renameSync(temp.path, temp.target);
  } catch (err) {
    abandonTemp(temp);
    throw describeWriteError(shown, err);
  }
  openTemps.delete(temp.path);
}

/** Closes and removes the temporary file. */
function abandonTemp(temp: Temp): void {
  try {
    temp.file.close();
  } catch { /* closed already */ }
  try {
    Deno.removeSync(temp.path);
  } catch { /* gone already */ }
  openTemps.delete(temp.path);
}

function untracked(): void {
  if (openTemps.size === 0) stopListening();
}

// ---- writing ----

async function writeAllAsync(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await file.write(bytes.subarray(off));
}

function writeAll(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/** Opens a device, pipe or terminal for writing (it exists; nothing is created). */
function openDirect(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { write: true });
  } catch (err) {
    throw describeWriteError(path, err);
  }
}

/**
 * Runs `produce` with a sink that writes to `path` (or stdout when `path` is undefined or `-`).
 * A file is written to a temporary file beside it and renamed over `path` only when `produce`
 * succeeds; a signal meanwhile removes the temporary file and exits (see the module comment).
 */
export async function writeOutput(
  path: string | undefined,
  produce: (sink: TextSink) => Promise<void>,
): Promise<void> {
  if (path === undefined || path === "-") {
    const writer = Deno.stdout.writable.getWriter();
    const sink = new BufferedTextWriter((bytes) => writer.write(bytes));
    try {
      await produce(sink);
      await sink.flush();
    } finally {
      writer.releaseLock();
    }
    return;
  }
  await writeOutputBytes(path, async (write) => {
    const sink = new BufferedTextWriter(write);
    await produce(sink);
    await sink.flush();
  });
}

/** Writes a whole string to `path` atomically (or to stdout), in blocks a signal can stop. */
export async function writeTextOutput(path: string | undefined, text: string): Promise<void> {
  await writeBytesOutput(path, [encoder.encode(text)]);
}

/**
 * Writes finished blocks of bytes to `path` atomically (or to stdout), at most 1 MB per write,
 * so a signal can stop it between writes.
 */
export async function writeBytesOutput(
  path: string | undefined,
  chunks: Iterable<Uint8Array>,
): Promise<void> {
  const block = 1 << 20;
  if (path === undefined || path === "-") {
    for (const bytes of chunks) writeAll(Deno.stdout, bytes);
    return;
  }
  await writeOutputBytes(path, async (write) => {
    for (const bytes of chunks) {
      for (let off = 0; off < bytes.length; off += block) {
        await write(bytes.subarray(off, off + block));
      }
    }
  });
}

/**
 * Runs `produce` with a writer to the file `path`: atomically through a temporary file beside
 * it, or in place for a device, pipe or terminal. Errors writing the file are one line naming
 * it; the producer's own errors pass through.
 */
async function writeOutputBytes(
  path: string,
  produce: (write: (bytes: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const target = resolveTarget(path);
  let failedWriting = false;
  const writeTo = (file: Deno.FsFile) => async (bytes: Uint8Array) => {
    try {
      await writeAllAsync(file, bytes);
    } catch (err) {
      failedWriting = true;
      throw err;
    }
  };
  const described = (err: unknown) => failedWriting ? describeWriteError(path, err) : err;
  if (target.kind === "direct") {
    const file = openDirect(path);
    try {
      await produce(writeTo(file));
    } catch (err) {
      throw described(err);
    } finally {
      file.close();
    }
    return;
  }
  // Listening first: a signal just after the file appears must find the listener there.
  listen();
  let temp: Temp;
  try {
    temp = createTemp(target.path, target.existing, path);
  } catch (err) {
    untracked();
    throw err;
  }
  try {
    await produce(writeTo(temp.file));
    commitTemp(temp, path);
  } catch (err) {
    abandonTemp(temp);
    throw described(err);
  } finally {
    untracked();
  }
}

/*
 * Synchronous byte output, for producers that are synchronous loops (the files walk): no
 * promises, no re-encoding, the same temporary file and rename. Signal listeners cannot run
 * while a synchronous loop does (Deno runs them between tasks): a listener would hold back
 * Ctrl-C until the loop ends. So none is installed; a signal kills flame as usual, and a guard
 * process removes the temporary file once flame is gone.
 */

/**
 * Runs `produce` with a writer to `path` (stdout when undefined or `-`), atomically for a file.
 * Errors writing the file are one line naming it; the producer's own errors pass through.
 */
export function withByteOutput<T>(
  path: string | undefined,
  produce: (out: ByteWriter) => T,
  { guard = true }: { guard?: boolean } = {},
): T {
  if (path === undefined || path === "-") {
    return produce({ write: (bytes) => writeAll(Deno.stdout, bytes) });
  }
  const target = resolveTarget(path);
  let writing = false;
  const writeTo = (file: Deno.FsFile) => (bytes: Uint8Array) => {
    writing = true;
    writeAll(file, bytes);
    writing = false;
  };
  if (target.kind === "direct") {
    const file = openDirect(path);
    try {
      return produce({ write: writeTo(file) });
    } catch (err) {
      throw writing ? describeWriteError(path, err) : err;
    } finally {
      file.close();
    }
  }
  const temp = createTemp(target.path, target.existing, path, guard ? guardTemp : undefined);
  try {
    const result = produce({ write: writeTo(temp.file) });
    commitTemp(temp, path);
    return result;
  } catch (err) {
    abandonTemp(temp);
    throw writing ? describeWriteError(path, err) : err;
  } finally {
    temp.guard?.release();
    untracked();
  }
}

// The guard: ignores the signals that end flame, waits for its stdin (a pipe from flame) to
// close, which happens when flame finishes with the file or dies, then removes the temporary
// file, which is gone already (renamed or removed) unless flame died first.
const GUARD = `trap '' INT TERM HUP; cat >/dev/null; rm -f -- "$1"`;

/** A guard process watching one temporary file. */
interface Guard {
  /** flame is done with the file (renamed or removed): the guard may end. */
  release(): void;
  /** The name was not ours after all: end the guard without removing anything. */
  cancel(): void;
}

/** Starts a guard process for `tmp` (none when processes cannot be started). */
function guardTemp(tmp: string): Guard {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("/bin/sh", {
      args: ["-c", GUARD, "flame-guard", tmp],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    return { release() {}, cancel() {} };
  }
  child.unref(); // flame may exit before it: that is when it matters
  guards.add(child);
  return {
    release() {
      child.stdin.close().catch(() => {});
    },
    cancel() {
      try {
        child.kill("SIGKILL");
      } catch { /* ended already */ }
      child.stdin.close().catch(() => {});
    },
  };
}

const guards = new Set<Deno.ChildProcess>();

/** Resolves once every guard process started so far has ended (for tests). */
export async function guardsEnded(): Promise<void> {
  for (const child of guards) {
    child.ref();
    await child.status;
  }
  guards.clear();
}

/**
 * Writes a small file (a few KB, like palette.map) atomically and synchronously, with the
 * same care as any output: a temporary file made exclusively, mode and owner kept, renamed
 * over the file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  // One write, at once: no guard process is worth starting for it.
  withByteOutput(path, (out) => out.write(bytes), { guard: false });
}

// ---- for the capture commands ----

/**
 * Checks, before a long recording, that the output can be written: its directory exists and
 * takes new files (a test file is made and removed: permissions, ACLs and read-only mounts all
 * show), and the path is not a directory. Throws a one-line FlameError naming the path and the
 * cause. `-` and undefined (stdout) always pass.
 */
export function checkOutputPath(path: string | undefined): void {
  if (path === undefined || path === "-") return;
  const target = resolveTarget(path);
  if (target.kind === "direct") {
    openDirect(path).close();
    return;
  }
  const dir = dirname(target.path);
  try {
    if (!Deno.statSync(dir).isDirectory) {
      throw new FlameError(`cannot write ${quoteName(path)}: ${quoteName(dir)} is not a directory`);
    }
  } catch (err) {
    throw describeWriteError(path, err);
  }
  listen();
  try {
    abandonTemp(createTemp(target.path, undefined, path));
  } finally {
    untracked();
  }
}

/**
 * Keeps the file `from` as `to` (a recording for --keep-data), atomically: renamed when both
 * are on one file system; otherwise copied to a temporary file beside `to`, renamed over it,
 * and only then is `from` removed. A full disk leaves neither a truncated `to` nor a lost
 * `from`: the error says why, and `from` is where it was.
 */
export async function keepFile(from: string, to: string): Promise<void> {
  try {
    Deno.lstatSync(from);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new FlameError(`${quoteName(from)}: no such file`);
    }
    throw err;
  }
  const target = resolveTarget(to);
  if (target.kind === "file") {
    try {
      Deno.renameSync(from, target.path);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "EXDEV") throw describeWriteError(to, err);
    }
  }
  const source = Deno.openSync(from);
  try {
    await writeOutputBytes(to, async (write) => {
      const buffer = new Uint8Array(1 << 20);
      for (;;) {
        let n: number | null;
        try {
          n = await source.read(buffer);
        } catch (err) {
          throw describeFileError(from, err);
        }
        if (n === null) break;
        await write(buffer.subarray(0, n));
      }
    });
  } finally {
    source.close();
  }
  try {
    Deno.removeSync(from);
  } catch { /* kept anyway */ }
}
