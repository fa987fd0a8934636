/**
 * The few libc calls the fast directory walk needs, through Deno's FFI: `openat`,
 * `getdents64`, `statx` and `close`, all relative to an open directory.
 *
 * Why FFI: `Deno.readDirSync` alone costs about as much as a whole `du -ab` (every entry becomes
 * an object), and `Deno.lstatSync` per entry resolves the full path again and builds a
 * FileInfo with dates. Reading raw `getdents64` records and calling `statx(dirfd, name)`
 * does what du does, with the same system calls. The record and `struct statx` layouts are
 * the same on every Linux architecture; only the `open` flag values differ (below).
 *
 * Only Linux with glibc (`libc.so.6`, 2.30 or newer) on x86_64 or aarch64, and only with the
 * `--allow-ffi` permission; `openLibc` returns undefined otherwise and the walk falls back to
 * Deno's own API.
 */

/** The symbols bound from libc. */
const SYMBOLS = {
  openat: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  getdents64: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** `open(2)` flags that differ between architectures (asm-generic vs x86). */
const OPEN_FLAGS: Record<string, { directory: number; nofollow: number }> = {
  x86_64: { directory: 0o200000, nofollow: 0o400000 },
  aarch64: { directory: 0o40000, nofollow: 0o100000 },
};
const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;

/** `AT_FDCWD`: paths relative to the working directory. */
export const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
/** STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_SIZE | STATX_BLOCKS. */
const STATX_WANTED = 0x1 | 0x2 | 0x4 | 0x100 | 0x200 | 0x400;

/** 32-bit word indexes in `struct statx` (linux/stat.h); every field used is 4-byte aligned. */
const STX = {
  nlink: 16 / 4,
  mode: 28 / 4, // u16 mode, then a u16 that is always 0
  inoLo: 32 / 4,
  inoHi: 36 / 4,
  sizeLo: 40 / 4,
  sizeHi: 44 / 4,
  blocksLo: 48 / 4,
  blocksHi: 52 / 4,
  devMajor: 136 / 4,
  devMinor: 140 / 4,
} as const;
const STATX_SIZE = 256;

/** errno values the walk tells apart. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EACCES: 13,
  ENOTDIR: 20,
  EMFILE: 24,
  ENFILE: 23,
  ENAMETOOLONG: 36,
  ELOOP: 40,
} as const;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * One `statx` result buffer, read in place: the walk reuses a single instance, so reading a
 * field costs an array load and no allocation. Little-endian, as every Deno Linux target is.
 */
export class StatBuffer {
  readonly bytes = new Uint8Array(STATX_SIZE);
  readonly #w = new Uint32Array(this.bytes.buffer);

  /** True for a directory. */
  get isDirectory(): boolean {
    return (this.#w[STX.mode] & S_IFMT) === S_IFDIR;
  }
  /** Hard link count. */
  get nlink(): number {
    return this.#w[STX.nlink];
  }
  /** Apparent size in bytes (`st_size`). */
  get size(): number {
    return this.#w[STX.sizeLo] + this.#w[STX.sizeHi] * 0x100000000;
  }
  /** Allocated 512-byte blocks (`st_blocks`). */
  get blocks(): number {
    return this.#w[STX.blocksLo] + this.#w[STX.blocksHi] * 0x100000000;
  }
  /** The device as one number (major and minor; exact while major < 2^21). */
  get dev(): number {
    return this.#w[STX.devMajor] * 0x100000000 + this.#w[STX.devMinor];
  }
  /** A key naming the file uniquely on this machine: device and inode number. */
  get fileKey(): string {
    const w = this.#w;
    return `${w[STX.devMajor]}:${w[STX.devMinor]}:${w[STX.inoHi]}:${w[STX.inoLo]}`;
  }
}

/** The bound libc calls, with the flag values for this machine. */
export interface Libc {
  /** Opens directory `name` (NUL-terminated bytes) relative to `dirFd`; a symlink is refused. */
  openDir(dirFd: number, name: Uint8Array): number;
  /** Reads directory records into `buf`; bytes read, 0 at the end, -1 on error. */
  readDir(fd: number, buf: Uint8Array): number;
  /** `statx` of `name` relative to `dirFd` without following a symlink; 0 or -1. */
  lstatAt(dirFd: number, name: Uint8Array, out: StatBuffer): number;
  /** Closes a descriptor. */
  close(fd: number): void;
  /** The errno of the last failed call. */
  errno(): number;
}

let cached: Libc | null | undefined;

/**
 * Binds libc, or returns undefined when the fast walk cannot be used here (not Linux, an
 * unknown architecture, no FFI permission, no glibc with these symbols).
 */
export function openLibc(): Libc | undefined {
  if (cached !== undefined) return cached ?? undefined;
  cached = bind() ?? null;
  return cached ?? undefined;
}

function bind(): Libc | undefined {
  const flags = OPEN_FLAGS[Deno.build.arch];
  if (Deno.build.os !== "linux" || !flags) return undefined;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const lib = Deno.dlopen("libc.so.6", SYMBOLS);
    const s = lib.symbols;
    const openFlags = O_RDONLY | O_CLOEXEC | flags.directory | flags.nofollow;
    return {
      openDir: (dirFd, name) => s.openat(dirFd, name, openFlags, 0),
      readDir: (fd, buf) => Number(s.getdents64(fd, buf, BigInt(buf.byteLength))),
      lstatAt: (dirFd, name, out) =>
        s.statx(dirFd, name, AT_SYMLINK_NOFOLLOW, STATX_WANTED, out.bytes),
      close: (fd) => void s.close(fd),
      errno: () => {
        const p = s.__errno_location();
        return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
      },
    };
  } catch {
    return undefined;
  }
}
