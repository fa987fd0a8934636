/**
 * Python thread names, read the way Python itself finds them: `sys.modules["threading"]` →
 * its `_active` dict (thread ident → Thread) → each Thread's `_name` attribute. That means
 * walking dicts of every layout (2.7's open table, 3.6–3.10's compact dict, 3.11+'s keys kinds,
 * split tables, and 3.11+'s managed instance dicts and inline values).
 *
 * Names are a nicety: any failure yields an empty map and the caller falls back to the
 * thread's `comm` (`threadComm`, beside the process's `commandLine`).
 */
import { field, ObjectReader, ptrAt, TornRead } from "./objects.ts";
import type { Layout } from "./layouts.ts";
import type { PythonReader } from "./reader.ts";

/** Dicts larger than this are not walked (sys.modules has hundreds, not millions). */
const MAX_ENTRIES = 1 << 16;
/** PyModuleObject: PyObject_HEAD, then md_dict (Objects/moduleobject.c before 3.10 headers). */
const MODULE_DICT_DEFAULT = 16;
/** 3.6–3.10 PyDictKeysObject (Objects/dict-common.h, not installed): dk_size at 8, */
/** dk_nentries at 32, indices from 40; entries {hash, key, value} of 24 bytes. */
const OLD_KEYS = { size: 8, nentries: 32, indices: 40, entry: 24 } as const;

/** One key/value pair of a dict (object addresses). */
interface Entry {
  key: number;
  value: number;
}

/** Reads dicts, strings and ints of one process for the thread-name lookup. */
class DictWalker {
  readonly L: Layout;
  readonly o: ObjectReader;
  readonly minor: number;
  readonly major: number;

  constructor(readonly reader: PythonReader) {
    this.L = reader.layout;
    this.o = reader.objects;
    this.major = reader.target.version.major;
    this.minor = reader.target.version.minor;
  }

  #isAtLeast(minor: number): boolean {
    return this.major === 3 && this.minor >= minor;
  }

  /** The entries of the dict at `dict` (values from the split table where it has one). */
  entries(dict: number): Entry[] {
    const o = this.o;
    const L = this.L;
    o.expectType(dict, this.reader.target.types.dict, "dict");
    if (this.major === 2) {
      const mask = o.pointer(dict + field(L, "dict.mask"));
      const table = o.pointer(dict + field(L, "dict.table"));
      if (mask >= MAX_ENTRIES) throw new TornRead("chain too long", "dict");
      const size = field(L, "dict.entry_size");
      const raw = new DataView(o.bytesAt(table, (mask + 1) * size).buffer);
      const out: Entry[] = [];
      for (let i = 0; i <= mask; i++) {
        const key = ptrAt(raw, i * size + 8);
        const value = ptrAt(raw, i * size + 16);
        if (key !== 0 && value !== 0) out.push({ key, value });
      }
      return out;
    }
    const keys = o.pointer(dict + field(L, "dict.keys"));
    const values = o.pointer(dict + field(L, "dict.values"));
    return this.keyEntries(keys, values === 0 ? undefined : values + this.valuesStart());
  }

  /** Where the value array starts in a PyDictValues (3.13 puts a small header first). */
  valuesStart(): number {
    return this.L["dictvalues.values"] ?? 0;
  }

  /** The entries of a keys object; with `values`, values come from that array (split table). */
  keyEntries(keys: number, values?: number): Entry[] {
    const o = this.o;
    const L = this.L;
    let size: number;
    let nentries: number;
    let entriesAt: number;
    let entrySize: number;
    let keyAt = 8;
    let valueAt = 16;
    if (this.#isAtLeast(11)) {
      const head = o.view(keys, field(L, "dictkeys.indices"));
      const log2Size = head.getUint8(field(L, "dictkeys.log2_size"));
      const log2Index = head.getUint8(field(L, "dictkeys.log2_index_bytes"));
      const kind = head.getUint8(field(L, "dictkeys.kind"));
      nentries = Number(head.getBigInt64(field(L, "dictkeys.nentries"), true));
      if (log2Size > 16 || log2Index > 20) throw new TornRead("chain too long", "dict keys");
      size = 2 ** log2Size;
      entriesAt = keys + field(L, "dictkeys.indices") + 2 ** log2Index;
      if (kind === field(L, "dictkeys.kind_general")) {
        entrySize = field(L, "dictkeys.entry_size");
      } else {
        entrySize = field(L, "dictkeys.unicode_entry_size");
        keyAt = 0;
        valueAt = 8;
      }
    } else {
      const head = o.view(keys, OLD_KEYS.indices);
      size = Number(head.getBigInt64(OLD_KEYS.size, true));
      nentries = Number(head.getBigInt64(OLD_KEYS.nentries, true));
      if (size <= 0 || size > MAX_ENTRIES) throw new TornRead("chain too long", "dict keys");
      const width = size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffff ? 4 : 8;
      entriesAt = keys + OLD_KEYS.indices + size * width;
      entrySize = OLD_KEYS.entry;
    }
    if (nentries < 0 || nentries > size || nentries > MAX_ENTRIES) {
      throw new TornRead("chain too long", "dict entries");
    }
    const raw = new DataView(o.bytesAt(entriesAt, nentries * entrySize).buffer);
    const vals = values === undefined || nentries === 0
      ? undefined
      : new DataView(o.bytesAt(values, nentries * 8).buffer);
    const out: Entry[] = [];
    for (let i = 0; i < nentries; i++) {
      const key = ptrAt(raw, i * entrySize + keyAt);
      const value = vals ? ptrAt(vals, i * 8) : ptrAt(raw, i * entrySize + valueAt);
      if (key !== 0 && value !== 0) out.push({ key, value });
    }
    return out;
  }

  /** The value of string key `name` in the dict, or 0. */
  lookup(dict: number, name: string): number {
    for (const e of this.entries(dict)) if (this.isString(e.key, name)) return e.value;
    return 0;
  }

  /** True when `key` is a string equal to `name` (anything unreadable is not). */
  isString(key: number, name: string): boolean {
    try {
      return this.o.string(key, 256) === name;
    } catch {
      return false;
    }
  }

  /** An int object's value (thread idents fit in 64 bits). */
  integer(object: number): number {
    const o = this.o;
    const L = this.L;
    if (this.major === 2) {
      if (L["int.value"] === undefined) throw new TornRead("bad type", "int");
      return Number(o.view(object + L["int.value"], 8).getBigInt64(0, true));
    }
    let ndigits: number;
    let negative: boolean;
    if (L["long.tag"] !== undefined) {
      const tag = Number(o.view(object + L["long.tag"], 8).getBigUint64(0, true));
      ndigits = Math.floor(tag / 8);
      negative = (tag & 3) === 2;
    } else {
      const size = Number(o.view(object + field(L, "varobject.size"), 8).getBigInt64(0, true));
      ndigits = Math.abs(size);
      negative = size < 0;
    }
    if (ndigits > 3) throw new TornRead("bad type", "int too large for an ident");
    const bits = field(L, "long.digit_bits");
    const digits = o.view(object + field(L, "long.digits"), 4 * Math.max(ndigits, 1));
    let value = 0;
    for (let i = ndigits - 1; i >= 0; i--) {
      value = value * 2 ** bits + digits.getUint32(i * 4, true);
    }
    return negative ? -value : value;
  }

  /** The instance dict entries of an object (plain `__dict__`, managed dict or inline values). */
  attributes(object: number): Entry[] {
    const o = this.o;
    const L = this.L;
    const type = o.typeOf(object);
    const flags = Number(o.view(type + field(L, "type.flags"), 8).getBigUint64(0, true));
    const managed = L["tpflags.managed_dict"] ?? 0;
    if (managed !== 0 && (flags & managed) !== 0) {
      const slot = object + field(L, "object.managed_dict");
      const word = o.pointer(slot);
      if (this.minor === 12 && word % 2 === 1) {
        return this.#sharedValues(type, word + 1);
      }
      if (word !== 0) return this.entries(word);
      if (this.minor === 11) {
        const values = o.pointer(object + field(L, "object.managed_values"));
        return values === 0 ? [] : this.#sharedValues(type, values);
      }
      const inline = L["tpflags.inline_values"] ?? 0;
      if (inline !== 0 && (flags & inline) !== 0) {
        const basicsize = Number(o.view(type + field(L, "type.basicsize"), 8).getBigInt64(0, true));
        return this.#sharedValues(type, object + basicsize);
      }
      return [];
    }
    const dictOffset = Number(o.view(type + field(L, "type.dictoffset"), 8).getBigInt64(0, true));
    if (dictOffset <= 0) return [];
    const dict = o.pointer(object + dictOffset);
    return dict === 0 ? [] : this.entries(dict);
  }

  /** Attributes stored as values against the type's shared (cached) keys. */
  #sharedValues(type: number, values: number): Entry[] {
    const keys = this.o.pointer(type + field(this.L, "heaptype.cached_keys"));
    return keys === 0 ? [] : this.keyEntries(keys, values + this.valuesStart());
  }
}

/** Where `threading._active` was found, so later reads skip the walk of `sys.modules`. */
export interface ThreadNameCache {
  active?: number[];
}

/**
 * Python's names of the process's threads, by thread ident: `threading._active[ident]._name`
 * for every interpreter. Empty when the threading module was never imported or cannot be read.
 * With a `cache`, the `_active` dicts found are remembered (they live as long as the module)
 * and the search through `sys.modules` runs again only when reading them fails.
 */
export function readThreadNames(
  reader: PythonReader,
  cache: ThreadNameCache = {},
): Map<number, string> {
  const w = new DictWalker(reader);
  const nameAttr = reader.target.version.major === 2 ? "_Thread__name" : "_name";
  reader.objects.resetPages();
  if (cache.active) {
    try {
      return namesFrom(w, reader, cache.active, nameAttr);
    } catch {
      cache.active = undefined;
    }
  }
  try {
    cache.active = findActiveDicts(w, reader);
    return namesFrom(w, reader, cache.active, nameAttr);
  } catch {
    // A torn dict: nothing this time; the caller reads again later.
    return new Map();
  }
}

/** The `threading._active` dict of every interpreter that imported threading. */
function findActiveDicts(w: DictWalker, reader: PythonReader): number[] {
  const L = reader.layout;
  const out: number[] = [];
  for (const interp of reader.interpreters()) {
    const modules = reader.objects.pointer(interp + field(L, "interp.modules"));
    if (modules === 0) continue;
    const threading = w.lookup(modules, "threading");
    if (threading === 0) continue;
    const moduleDict = reader.objects.pointer(
      threading + (L["module.dict"] ?? MODULE_DICT_DEFAULT),
    );
    const active = w.lookup(moduleDict, "_active");
    if (active !== 0) out.push(active);
  }
  return out;
}

function namesFrom(
  w: DictWalker,
  reader: PythonReader,
  actives: number[],
  nameAttr: string,
): Map<number, string> {
  const names = new Map<number, string>();
  for (const active of actives) {
    for (const e of w.entries(active)) {
      try {
        const ident = w.integer(e.key);
        for (const attr of w.attributes(e.value)) {
          if (w.isString(attr.key, nameAttr)) {
            names.set(ident, reader.objects.string(attr.value, 1024));
            break;
          }
        }
      } catch { /* one unreadable Thread leaves the others */ }
    }
  }
  return names;
}

/** The kernel's name of a thread (`comm`, 15 bytes), or undefined. */
export function threadComm(pid: number, tid: number): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/task/${tid}/comm`).replace(/\n$/, "");
  } catch {
    return undefined;
  }
}

/** A process's command line, its arguments joined by spaces ("" once it is gone). */
export function commandLine(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).replace(/\0+$/, "").replaceAll("\0", " ");
  } catch {
    return "";
  }
}
