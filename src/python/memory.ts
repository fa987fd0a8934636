/**
 * Reading another process's memory without stopping it or writing to it: `process_vm_readv(2)`
 * through Deno's FFI (one system call per range, no file descriptor), with `/proc/PID/mem`
 * (seek and read) as the fallback where the call is missing or FFI is not allowed.
 *
 * Addresses are JavaScript numbers: user-space addresses on x86_64 and aarch64 are below 2^48,
 * well inside the 2^53 a double holds exactly.
 */
import { FlameError } from "../errors.ts";

/** Why a read failed. */
export type ReadFailure =
  /** The address is not mapped (a stale or torn pointer). */
  | "fault"
  /** The process is gone. */
  | "exited"
  /** The kernel refused access (another user's process, Yama, no CAP_SYS_PTRACE). */
  | "refused";

/** A failed read: `reason` says which kind. */
export class MemoryError extends Error {
  constructor(readonly reason: ReadFailure, readonly address: number, message: string) {
    super(message);
    this.name = "MemoryError";
  }
}

/** Reads another process's memory. */
export interface ProcessMemory {
  readonly pid: number;
  /** Which mechanism reads: `process_vm_readv` or `/proc/PID/mem`. */
  readonly method: "process_vm_readv" | "proc-mem";
  /**
   * Fills `into` (from its start, `length` bytes, default all of it) with the target's bytes at
   * `address`. Throws MemoryError.
   */
  readInto(address: number, into: Uint8Array, length?: number): void;
  /** Releases the file descriptor or library handle. */
  close(): void;
}

const ERRNO_EPERM = 1;
const ERRNO_ESRCH = 3;
const ERRNO_EFAULT = 14;
const ERRNO_EACCES = 13;

const SYMBOLS = {
  process_vm_readv: {
    parameters: ["i32", "buffer", "u64", "buffer", "u64", "u64"],
    result: "isize",
  },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>;

let libc: Libc | null | undefined;

/** libc with process_vm_readv, or null where FFI or the library is not available. */
function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    libc = Deno.build.os === "linux" ? Deno.dlopen("libc.so.6", SYMBOLS) : null;
  } catch {
    libc = null;
  }
  return libc;
}

function errno(lib: Libc): number {
  const p = lib.symbols.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

function failure(pid: number, address: number, err: number): MemoryError {
  if (err === ERRNO_ESRCH) {
    return new MemoryError("exited", address, `process ${pid} has exited`);
  }
  if (err === ERRNO_EPERM || err === ERRNO_EACCES) {
    return new MemoryError("refused", address, `reading process ${pid}'s memory was refused`);
  }
  return new MemoryError(
    "fault",
    address,
    `cannot read 0x${address.toString(16)} in process ${pid} (errno ${err})`,
  );
}

const TWO32 = 2 ** 32;

/** `process_vm_readv` with one local and one remote range per call. */
class VmReadv implements ProcessMemory {
  readonly method = "process_vm_readv";
  /** local iovec then remote iovec, as 32-bit halves (little-endian). */
  readonly #iov = new Uint32Array(8);
  readonly #local: Uint8Array;
  readonly #remote: Uint8Array;

  constructor(readonly pid: number, readonly lib: Libc) {
    const bytes = new Uint8Array(this.#iov.buffer);
    this.#local = bytes.subarray(0, 16);
    this.#remote = bytes.subarray(16, 32);
  }

  readInto(address: number, into: Uint8Array, length = into.length): void {
    if (length === 0) return;
    const iov = this.#iov;
    const local = Deno.UnsafePointer.value(Deno.UnsafePointer.of(into));
    const base = typeof local === "bigint" ? Number(local) : local;
    iov[0] = base % TWO32;
    iov[1] = Math.floor(base / TWO32);
    iov[2] = length;
    iov[3] = 0;
    iov[4] = address % TWO32;
    iov[5] = Math.floor(address / TWO32);
    iov[6] = length;
    iov[7] = 0;
    const n = Number(
      this.lib.symbols.process_vm_readv(this.pid, this.#local, 1n, this.#remote, 1n, 0n),
    );
    if (n === length) return;
    if (n >= 0) throw failure(this.pid, address, ERRNO_EFAULT);
    throw failure(this.pid, address, errno(this.lib));
  }

  close(): void {}
}

/** `/proc/PID/mem`, read at an offset (needs Deno's --allow-all to open). */
class ProcMem implements ProcessMemory {
  readonly method = "proc-mem";
  readonly #file: Deno.FsFile;

  constructor(readonly pid: number) {
    try {
      this.#file = Deno.openSync(`/proc/${pid}/mem`, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new MemoryError("exited", 0, `process ${pid} has exited`);
      }
      if (err instanceof Deno.errors.PermissionDenied) {
        throw new MemoryError("refused", 0, `reading process ${pid}'s memory was refused`);
      }
      throw err;
    }
  }

  readInto(address: number, into: Uint8Array, length = into.length): void {
    try {
      this.#file.seekSync(address, Deno.SeekMode.Start);
      let done = 0;
      while (done < length) {
        const n = this.#file.readSync(into.subarray(done, length));
        if (n === null || n === 0) throw failure(this.pid, address, ERRNO_EFAULT);
        done += n;
      }
    } catch (err) {
      if (err instanceof MemoryError) throw err;
      // A process that is gone reads as nothing (ESRCH surfaces as an I/O error).
      if (!processExists(this.pid)) throw failure(this.pid, address, ERRNO_ESRCH);
      throw failure(this.pid, address, ERRNO_EFAULT);
    }
  }

  close(): void {
    this.#file.close();
  }
}

/** True while /proc has the process (a zombie counts as gone: its memory is). */
export function processExists(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * Opens `pid`'s memory for reading: process_vm_readv where it works, else /proc/PID/mem.
 * `probe` is an address known to be mapped (it decides whether the fast call works here).
 * Throws MemoryError ("refused", "exited") when neither can read.
 */
export function openProcessMemory(
  pid: number,
  probe: number,
  prefer?: ProcessMemory["method"],
): ProcessMemory {
  const lib = prefer === "proc-mem" ? null : openLibc();
  let refusal: MemoryError | undefined;
  if (lib) {
    const vm = new VmReadv(pid, lib);
    try {
      vm.readInto(probe, new Uint8Array(8));
      return vm;
    } catch (err) {
      if (!(err instanceof MemoryError)) throw err;
      if (err.reason === "exited") throw err;
      if (err.reason === "refused") refusal = err;
      // ENOSYS (a kernel or seccomp policy without the call): try /proc/PID/mem.
    }
  }
  try {
    const mem = new ProcMem(pid);
    mem.readInto(probe, new Uint8Array(8));
    return mem;
  } catch (err) {
    if (err instanceof MemoryError) throw refusal ?? err;
    if (err instanceof Deno.errors.NotCapable) {
      throw refusal ?? new FlameError(
        "reading /proc/PID/mem needs Deno's --allow-all (and process_vm_readv --allow-ffi)",
      );
    }
    throw err;
  }
}
