/**
 * The libc calls the Python reader makes through Deno's FFI (`--allow-ffi`): reading another
 * process's memory, reading /proc files through descriptors kept open (a `pread` on an open
 * /proc stat file costs a fraction of opening it each time), and CLOCK_MONOTONIC. Undefined
 * where FFI or glibc is not available; callers fall back to Deno's own file API.
 */

const SYMBOLS = {
  // Counts, lengths and offsets are declared u32 (they stay far below 2^31): a 32-bit argument
  // is zero-extended into its 64-bit register on x86_64 and aarch64, and a BigInt argument
  // would take Deno's slow call path (measured here: 4.7 µs against 7.6 µs a call).
  process_vm_readv: {
    parameters: ["i32", "buffer", "u32", "buffer", "u32", "u32"],
    result: "i64",
  },
  open: { parameters: ["buffer", "i32"], result: "i32" },
  pread: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The bound libc. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let bound: Libc | null | undefined;

/** libc's symbols, or null where they cannot be bound. */
export function libc(): Libc | null {
  if (bound !== undefined) return bound;
  try {
    bound = Deno.build.os === "linux" ? Deno.dlopen("libc.so.6", SYMBOLS).symbols : null;
  } catch {
    bound = null;
  }
  return bound;
}

/** The calling thread's errno. */
export function errno(lib: Libc): number {
  const p = lib.__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

const O_RDONLY_CLOEXEC = 0o2000000;
const encoder = new TextEncoder();

/** A small file (under /proc) kept open and re-read from its start on each `read`. */
export class ProcFile {
  readonly #fd: number;
  readonly #lib: Libc | null;
  readonly #buf: Uint8Array;
  readonly #decoder = new TextDecoder();

  /** Throws Deno.errors.NotFound when the file cannot be opened. */
  constructor(readonly path: string, size = 1024) {
    this.#lib = libc();
    this.#buf = new Uint8Array(size);
    if (this.#lib) {
      this.#fd = this.#lib.open(encoder.encode(path + "\0"), O_RDONLY_CLOEXEC);
      if (this.#fd < 0) throw new Deno.errors.NotFound(path);
    } else {
      this.#fd = -1;
      Deno.statSync(path);
    }
  }

  /** The file's current text, or undefined once it is gone. */
  read(): string | undefined {
    if (!this.#lib) {
      try {
        return Deno.readTextFileSync(this.path);
      } catch {
        return undefined;
      }
    }
    const n = Number(this.#lib.pread(this.#fd, this.#buf, this.#buf.length, 0));
    return n <= 0 ? undefined : this.#decoder.decode(this.#buf.subarray(0, n));
  }

  close(): void {
    if (this.#lib && this.#fd >= 0) this.#lib.close(this.#fd);
  }
}
