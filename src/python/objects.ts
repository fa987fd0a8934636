/**
 * Typed reads of another process's CPython objects: pointers, integers, strings (2.7 `str`,
 * 3.x compact unicode) and bytes, each validated (alignment, type pointer, bounded size). A
 * value that fails validation throws TornRead: the sample is retried or dropped by the caller.
 */
import type { Layout, LayoutField } from "./layouts.ts";
import type { ProcessMemory } from "./memory.ts";
import type { PythonTarget } from "./discover.ts";

/** Why a read was rejected (counted per reason when samples are dropped). */
export type TornReason =
  | "bad pointer"
  | "bad type"
  | "bad string"
  | "chain too long"
  | "moving stack"
  | "unreadable";

/** A value that does not look like what it should be: likely read mid-change. */
export class TornRead extends Error {
  constructor(readonly reason: TornReason, detail: string) {
    super(`${reason}: ${detail}`);
    this.name = "TornRead";
  }
}

/** User-space addresses end below this (x86_64 and aarch64 with 48-bit addresses). */
const MAX_ADDRESS = 2 ** 48;
/** The page size the read cache works in (x86_64 and most aarch64 kernels). */
const PAGE = 4096;
/** Names and file names longer than this are not names. */
export const MAX_NAME = 4096;
/** Line tables longer than this are not read. */
export const MAX_TABLE = 1 << 20;

/** A field's offset, or an error naming it (the table lacks it for this version). */
export function field(layout: Layout, name: LayoutField): number {
  const v = layout[name];
  if (v === undefined) throw new Error(`the layout has no ${name}`);
  return v;
}

/** Reads objects of one process. */
export class ObjectReader {
  readonly memory: ProcessMemory;
  readonly #buf = new Uint8Array(4096);
  readonly #pages = new Map<number, Uint8Array>();
  readonly #pool: Uint8Array[] = [];
  #pagesUsed = 0;
  readonly #view = new DataView(this.#buf.buffer);
  readonly #latin1 = new TextDecoder("latin1");
  readonly #utf16 = new TextDecoder("utf-16le");
  readonly #utf8 = new TextDecoder();
  readonly isPy2: boolean;
  readonly #obType: number;
  readonly #tpName: number;
  readonly #bytesSize: number;
  readonly #bytesData: number;
  readonly #uLength: number;
  readonly #uState: number;
  readonly #uAsciiSize: number;
  readonly #uCompactSize: number;
  readonly #kindMask: number;
  readonly #kindShift: number;
  readonly #compactMask: number;
  readonly #asciiMask: number;

  constructor(readonly target: PythonTarget) {
    const L = target.layout;
    this.memory = target.memory;
    this.isPy2 = target.version.major === 2;
    this.#obType = field(L, "object.type");
    this.#tpName = field(L, "type.name");
    this.#bytesSize = field(L, "bytes.size");
    this.#bytesData = field(L, "bytes.data");
    this.#uLength = L["unicode.length"] ?? 0;
    this.#uState = L["unicode.state"] ?? 0;
    this.#uAsciiSize = L["unicode.ascii_size"] ?? 0;
    this.#uCompactSize = L["unicode.compact_size"] ?? 0;
    this.#kindMask = L["unicode.kind_mask"] ?? 0;
    this.#kindShift = this.#kindMask ? 31 - Math.clz32(this.#kindMask & -this.#kindMask) : 0;
    this.#compactMask = L["unicode.compact_mask"] ?? 0;
    this.#asciiMask = L["unicode.ascii_mask"] ?? 0;
  }

  /**
   * Forgets the pages read so far: call at the start of each snapshot, so one snapshot never
   * mixes with an older one.
   */
  resetPages(): void {
    this.#pages.clear();
    this.#pagesUsed = 0;
  }

  /**
   * Reads `length` bytes at `address` into the shared buffer and returns a view of it, valid
   * until the next read. Within one snapshot, whole 4 KiB pages are read once and served from
   * memory after that: frames, thread states and runtime structures sit close together, and
   * a system call costs far more than copying a page (a page is mapped whole or not at all).
   */
  view(address: number, length: number): DataView {
    if (length > this.#buf.length) throw new Error(`read of ${length} bytes is too large`);
    const page = address - (address % PAGE);
    if (address + length <= page + PAGE) {
      let bytes = this.#pages.get(page);
      if (!bytes) {
        if (this.#pagesUsed === this.#pool.length) this.#pool.push(new Uint8Array(PAGE));
        bytes = this.#pool[this.#pagesUsed++];
        this.memory.readInto(page, bytes, PAGE);
        this.#pages.set(page, bytes);
      }
      const at = address - page;
      this.#buf.set(bytes.subarray(at, at + length));
      return this.#view;
    }
    this.memory.readInto(address, this.#buf, length);
    return this.#view;
  }

  /** A copy of `length` bytes at `address`. */
  bytesAt(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    if (length > 0) this.memory.readInto(address, out);
    return out;
  }

  /** The pointer at `address`. */
  pointer(address: number): number {
    return ptrAt(this.view(address, 8), 0);
  }

  /** The object's type pointer. */
  typeOf(object: number): number {
    return this.pointer(object + this.#obType);
  }

  /** Checks that `object` is an aligned pointer to an object of type `type` (when known). */
  expectType(object: number, type: number | undefined, what: string): void {
    checkPointer(object, what);
    if (type !== undefined && this.typeOf(object) !== type) {
      throw new TornRead("bad type", `${what} at 0x${object.toString(16)} has another type`);
    }
  }

  /**
   * The type of `object` when its `tp_name` is `name` (for binaries whose type objects have
   * no symbols), else undefined.
   */
  typeIfNamed(object: number, name: string): number | undefined {
    checkPointer(object, name);
    const type = this.typeOf(object);
    checkPointer(type, `${name} type`);
    const namePtr = this.pointer(type + this.#tpName);
    if (namePtr === 0) return undefined;
    const bytes = this.bytesAt(namePtr, name.length + 1);
    return this.#latin1.decode(bytes) === `${name}\0` ? type : undefined;
  }

  /** A `str` object's text (3.x unicode, 2.7 str or unicode-as-bytes). */
  string(object: number, max = MAX_NAME): string {
    checkPointer(object, "string");
    if (this.isPy2) return this.#utf8.decode(this.bytes(object, max));
    const head = this.view(object, this.#uCompactSize);
    const length = Number(head.getBigInt64(this.#uLength, true));
    const state = head.getUint32(this.#uState, true);
    if (length < 0 || length > max) throw new TornRead("bad string", `length ${length}`);
    if ((state & this.#compactMask) === 0) throw new TornRead("bad string", "not compact");
    const kind = (state & this.#kindMask) >>> this.#kindShift;
    if (length === 0) return "";
    if (state & this.#asciiMask) {
      return this.#latin1.decode(this.bytesAt(object + this.#uAsciiSize, length));
    }
    const data = object + this.#uCompactSize;
    if (kind === 1) return this.#latin1.decode(this.bytesAt(data, length));
    if (kind === 2) return this.#utf16.decode(this.bytesAt(data, length * 2));
    if (kind === 4) {
      const raw = this.bytesAt(data, length * 4);
      const v = new DataView(raw.buffer);
      let s = "";
      for (let i = 0; i < length; i++) {
        const cp = v.getUint32(i * 4, true);
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : "\ufffd";
      }
      return s;
    }
    throw new TornRead("bad string", `kind ${kind}`);
  }

  /** A `bytes` (2.7 `str`) object's contents. */
  bytes(object: number, max = MAX_TABLE): Uint8Array {
    checkPointer(object, "bytes");
    const size = Number(this.view(object + this.#bytesSize, 8).getBigInt64(0, true));
    if (size < 0 || size > max) throw new TornRead("bad string", `bytes size ${size}`);
    return this.bytesAt(object + this.#bytesData, size);
  }
}

/** The pointer at `at` in `view` (little-endian, 64-bit). */
export function ptrAt(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * 2 ** 32 + view.getUint32(at, true);
}

/** Throws TornRead unless `p` is a plausible, aligned user-space object pointer. */
export function checkPointer(p: number, what: string): void {
  if (p === 0 || p % 8 !== 0 || p >= MAX_ADDRESS) {
    throw new TornRead("bad pointer", `${what} pointer 0x${p.toString(16)}`);
  }
}
