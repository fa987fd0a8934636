/**
 * Just enough ELF64 (little-endian) to find CPython's state in a binary: section headers (by
 * name, for `.PyRuntime`), loadable segments (for the load bias) and symbols by name from
 * `.dynsym` and `.symtab`. Reads only the parts it needs with positioned reads, and treats the
 * file as untrusted: every offset and size is checked against the file, tables are bounded.
 */
import type { Mapping } from "./maps.ts";

/** A section header's useful part. */
export interface Section {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** A PT_LOAD program header. */
export interface Segment {
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

/** A symbol's value (its address in the file's own address space) and size. */
export interface ElfSymbol {
  value: number;
  size: number;
}

/** A parsed ELF file: its sections and loadable segments; symbols on request. */
export interface ElfFile {
  path: string;
  /** ET_EXEC (2) or ET_DYN (3). */
  type: number;
  sections: Section[];
  segments: Segment[];
  /** Looks up `names` in .dynsym and .symtab (defined symbols only). */
  symbols(names: readonly string[]): Map<string, ElfSymbol>;
}

/** Not an ELF file, or a damaged one. */
export class ElfError extends Error {
  constructor(path: string, what: string) {
    super(`${path}: ${what}`);
    this.name = "ElfError";
  }
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_NOBITS = 8;
const PT_LOAD = 1;
const SHN_UNDEF = 0;
/** Tables larger than this are not read (libpython's .symtab is ~1 MB). */
const MAX_TABLE = 256 * 1024 * 1024;
const MAX_SECTIONS = 65535;

function readAt(file: Deno.FsFile, offset: number, length: number, path: string): Uint8Array {
  const buf = new Uint8Array(length);
  file.seekSync(offset, Deno.SeekMode.Start);
  let done = 0;
  while (done < length) {
    const n = file.readSync(buf.subarray(done));
    if (n === null || n === 0) throw new ElfError(path, "truncated");
    done += n;
  }
  return buf;
}

function u64(view: DataView, at: number): number {
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  return hi * 2 ** 32 + lo;
}

function cString(bytes: Uint8Array, at: number): string {
  if (at >= bytes.length) return "";
  let end = bytes.indexOf(0, at);
  if (end === -1) end = bytes.length;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

/** Opens and parses the headers of the ELF file at `path` (read as a file of `fsPath`). */
export function readElf(path: string, fsPath = path): ElfFile {
  const file = Deno.openSync(fsPath, { read: true });
  try {
    const fileSize = file.statSync().size;
    if (fileSize < 64) throw new ElfError(path, "not an ELF file");
    const head = readAt(file, 0, 64, path);
    if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) {
      throw new ElfError(path, "not an ELF file");
    }
    if (head[4] !== 2 || head[5] !== 1) {
      throw new ElfError(path, "not a 64-bit little-endian ELF file");
    }
    const h = new DataView(head.buffer);
    const type = h.getUint16(16, true);
    const phoff = u64(h, 32);
    const shoff = u64(h, 40);
    const phentsize = h.getUint16(54, true);
    const phnum = h.getUint16(56, true);
    const shentsize = h.getUint16(58, true);
    const shnum = h.getUint16(60, true);
    const shstrndx = h.getUint16(62, true);
    const within = (off: number, len: number) => off >= 0 && len >= 0 && off + len <= fileSize;

    const segments: Segment[] = [];
    if (phnum > 0 && phentsize >= 56 && within(phoff, phnum * phentsize)) {
      const ph = readAt(file, phoff, phnum * phentsize, path);
      const v = new DataView(ph.buffer);
      for (let i = 0; i < phnum; i++) {
        const at = i * phentsize;
        if (v.getUint32(at, true) !== PT_LOAD) continue;
        segments.push({
          offset: u64(v, at + 8),
          vaddr: u64(v, at + 16),
          filesz: u64(v, at + 32),
          memsz: u64(v, at + 40),
        });
      }
    }

    const sections: Section[] = [];
    if (
      shnum > 0 && shnum <= MAX_SECTIONS && shentsize >= 64 && within(shoff, shnum * shentsize)
    ) {
      const sh = readAt(file, shoff, shnum * shentsize, path);
      const v = new DataView(sh.buffer);
      const raw = [];
      for (let i = 0; i < shnum; i++) {
        const at = i * shentsize;
        raw.push({
          nameOff: v.getUint32(at, true),
          type: v.getUint32(at + 4, true),
          addr: u64(v, at + 16),
          offset: u64(v, at + 24),
          size: u64(v, at + 32),
          link: v.getUint32(at + 40, true),
          entsize: u64(v, at + 56),
        });
      }
      let names: Uint8Array = new Uint8Array(0);
      const strtab = raw[shstrndx];
      if (strtab && strtab.size <= MAX_TABLE && within(strtab.offset, strtab.size)) {
        names = readAt(file, strtab.offset, strtab.size, path);
      }
      for (const r of raw) sections.push({ ...r, name: cString(names, r.nameOff) });
    }

    const cache = new Map<number, Uint8Array>();
    const table = (s: Section): Uint8Array | undefined => {
      if (s.type === SHT_NOBITS || s.size > MAX_TABLE || !within(s.offset, s.size)) return;
      let bytes = cache.get(s.offset);
      if (!bytes) cache.set(s.offset, bytes = readAt(file, s.offset, s.size, path));
      return bytes;
    };
    // Symbol tables are read now, while the file is open; lookups happen later.
    const symbolTables: { syms: Uint8Array; strs: Uint8Array }[] = [];
    for (const s of sections) {
      if (s.type !== SHT_DYNSYM && s.type !== SHT_SYMTAB) continue;
      const strSection = sections[s.link];
      const syms = table(s);
      const strs = strSection ? table(strSection) : undefined;
      if (syms && strs) symbolTables.push({ syms, strs });
    }

    return {
      path,
      type,
      sections,
      segments,
      symbols: (wanted) => lookupSymbols(symbolTables, wanted),
    };
  } finally {
    file.close();
  }
}

function lookupSymbols(
  tables: { syms: Uint8Array; strs: Uint8Array }[],
  wanted: readonly string[],
): Map<string, ElfSymbol> {
  const found = new Map<string, ElfSymbol>();
  const enc = new TextEncoder();
  const targets = wanted.map((w) => enc.encode(w));
  for (const { syms, strs } of tables) {
    const v = new DataView(syms.buffer, syms.byteOffset, syms.byteLength);
    for (let at = 0; at + 24 <= syms.length; at += 24) {
      const nameOff = v.getUint32(at, true);
      if (nameOff === 0 || nameOff >= strs.length) continue;
      if (v.getUint16(at + 6, true) === SHN_UNDEF) continue;
      for (let k = 0; k < targets.length; k++) {
        const t = targets[k];
        if (strs[nameOff + t.length] !== 0 || found.has(wanted[k])) continue;
        let same = true;
        for (let j = 0; j < t.length; j++) {
          if (strs[nameOff + j] !== t[j]) {
            same = false;
            break;
          }
        }
        if (same) found.set(wanted[k], { value: u64(v, at + 8), size: u64(v, at + 16) });
      }
    }
  }
  return found;
}

/** The section called `name`, if any. */
export function findSection(elf: ElfFile, name: string): Section | undefined {
  return elf.sections.find((s) => s.name === name);
}

/**
 * The load bias of `elf` in a process: what to add to a file address to get the address in
 * memory, from the mappings of that file. Undefined when no mapping matches a segment.
 */
export function loadBias(
  elf: Pick<ElfFile, "segments">,
  mappings: Mapping[],
): number | undefined {
  const PAGE = 4096;
  for (const m of mappings) {
    for (const seg of elf.segments) {
      const pageOffset = seg.offset - (seg.offset % PAGE);
      if (pageOffset !== m.offset) continue;
      return m.start - (seg.vaddr - (seg.offset - pageOffset));
    }
  }
  return undefined;
}
