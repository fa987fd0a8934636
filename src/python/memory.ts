/**
 * Reading another process's memory without stopping it or writing to it: `process_vm_readv(2)`
 * through Deno's FFI (one system call per range, no file descriptor), with `/proc/PID/mem`
 * (seek and read) as the fallback where the call is missing or FFI is not allowed.
 *
 * Addresses are JavaScript numbers: user-space addresses on x86_64 and aarch64 are below 2^48,
 * well inside the 2^53 a double holds exactly.
 */
import { FlameError } from "../errors.ts";
import { errno, type Libc, libc } from "./libc.ts";

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
  /**
   * Reads `length` bytes at each of `addresses` into consecutive slots of `into` (slot i at
   * `i * length`), in as few system calls as the mechanism allows. Throws MemoryError.
   */
  readMany(addresses: readonly number[], length: number, into: Uint8Array): void;
  /** Releases the file descriptor or library handle. */
  close(): void;
}

const ERRNO_EPERM = 1;
const ERRNO_ESRCH = 3;
const ERRNO_EFAULT = 14;
const ERRNO_EACCES = 13;

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
/** The kernel's limit of ranges per process_vm_readv call (IOV_MAX). */
const MAX_RANGES = 1024;

/** The address of a buffer's first byte (cached: Deno's pointer lookup costs ~1 µs). */
const bases = new WeakMap<ArrayBuffer, number>();
function baseOf(into: Uint8Array): number {
  let base = bases.get(into.buffer as ArrayBuffer);
  if (base === undefined) {
    const whole = new Uint8Array(into.buffer);
    const p = Deno.UnsafePointer.value(Deno.UnsafePointer.of(whole));
    base = typeof p === "bigint" ? Number(p) : p;
    bases.set(into.buffer as ArrayBuffer, base);
  }
  return base + into.byteOffset;
}

/** `process_vm_readv`: one system call for one range, or for up to 1024 ranges. */
class VmReadv implements ProcessMemory {
  readonly method = "process_vm_readv";
  /** Local iovecs, then remote iovecs, as 32-bit halves (little-endian). */
  readonly #local = new Uint32Array(MAX_RANGES * 4);
  readonly #remote = new Uint32Array(MAX_RANGES * 4);

  constructor(readonly pid: number, readonly lib: Libc) {}

  readInto(address: number, into: Uint8Array, length = into.length): void {
    if (length === 0) return;
    const base = baseOf(into);
    const l = this.#local;
    const r = this.#remote;
    l[0] = base % TWO32;
    l[1] = Math.floor(base / TWO32);
    l[2] = length;
    l[3] = 0;
    r[0] = address % TWO32;
    r[1] = Math.floor(address / TWO32);
    r[2] = length;
    r[3] = 0;
    const n = Number(this.lib.process_vm_readv(this.pid, l, 1, r, 1, 0));
    if (n === length) return;
    if (n >= 0) throw failure(this.pid, address, ERRNO_EFAULT);
    throw failure(this.pid, address, errno(this.lib));
  }

  readMany(addresses: readonly number[], length: number, into: Uint8Array): void {
    const base = baseOf(into);
    const l = this.#local;
    const r = this.#remote;
    for (let start = 0; start < addresses.length; start += MAX_RANGES) {
      const count = Math.min(MAX_RANGES, addresses.length - start);
      for (let i = 0; i < count; i++) {
        const local = base + (start + i) * length;
        const address = addresses[start + i];
        l[i * 4] = local % TWO32;
        l[i * 4 + 1] = Math.floor(local / TWO32);
        l[i * 4 + 2] = length;
        l[i * 4 + 3] = 0;
        r[i * 4] = address % TWO32;
        r[i * 4 + 1] = Math.floor(address / TWO32);
        r[i * 4 + 2] = length;
        r[i * 4 + 3] = 0;
      }
      const n = Number(this.lib.process_vm_readv(this.pid, l, count, r, count, 0));
      if (n === count * length) continue;
      // A partial read stops at the first range that faults.
      const at = addresses[start + Math.max(0, Math.floor(n / length))];
      if (n >= 0) throw failure(this.pid, at, ERRNO_EFAULT);
      throw failure(this.pid, at, errno(this.lib));
    }
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

  readMany(addresses: readonly number[], length: number, into: Uint8Array): void {
    for (let i = 0; i < addresses.length; i++) {
      this.readInto(addresses[i], into.subarray(i * length), length);
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
  const lib = prefer === "proc-mem" ? null : libc();
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
