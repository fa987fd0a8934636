/**
 * A reader of Python's `marshal` serialization, for the values pstats files hold: dicts,
 * tuples, strings, ints and floats. It reads both Python 3's format (versions 2-4: short ASCII
 * strings, back-references flagged with 0x80) and Python 2's (byte strings, interned-string
 * references), which is what `cProfile -o` writes under each. Code objects and other types a
 * pstats file never holds are refused.
 *
 * Hostile input: every length is checked against the bytes left before anything is allocated,
 * nesting is bounded, references must point back at objects already read, so reading is linear
 * in the input and its memory bounded by it. Any problem is a MarshalError with one line.
 */

/** A marshalled dict: its entries in file order (keys may be tuples, which a Map cannot key). */
export interface MarshalDict {
  dict: [MarshalValue, MarshalValue][];
}

/** A value read from marshal data. Tuples, lists and sets are arrays. */
export type MarshalValue =
  | null
  | boolean
  | number
  | string
  | MarshalValue[]
  | MarshalDict;

/** The input is not marshal data of the kinds read here. */
export class MarshalError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = "MarshalError";
  }
}

/** Nesting deeper than this is refused (pstats nests four deep). */
const MAX_DEPTH = 64;
const FLAG_REF = 0x80;
const utf8 = new TextDecoder("utf-8", { fatal: false });
const latin1 = new TextDecoder("latin1");

/** Reads one marshalled value from the start of `bytes`. */
export function readMarshal(bytes: Uint8Array): MarshalValue {
  return new MarshalReader(bytes).value(0);
}

class MarshalReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;
  /** Objects flagged for back-reference (Python 3), in the order they were started. */
  readonly #refs: MarshalValue[] = [];
  /** Interned strings (Python 2's `t`), for its `R` references. */
  readonly #interned: string[] = [];

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #fail(message: string, at = this.#at): never {
    throw new MarshalError(message, at);
  }

  #need(n: number): void {
    if (n < 0 || this.#at + n > this.#bytes.length) {
      this.#fail(`truncated: ${n} more bytes wanted at offset ${this.#at}`);
    }
  }

  #u8(): number {
    this.#need(1);
    return this.#bytes[this.#at++];
  }

  #i32(): number {
    this.#need(4);
    const v = this.#view.getInt32(this.#at, true);
    this.#at += 4;
    return v;
  }

  /** A length of items of at least `minSize` bytes each: never more than the bytes left. */
  #length(n: number, minSize = 1): number {
    if (n < 0 || n * minSize > this.#bytes.length - this.#at) {
      this.#fail(`a length of ${n} at offset ${this.#at} runs past the end`);
    }
    return n;
  }

  #text(n: number, decoder: TextDecoder): string {
    this.#length(n);
    const s = decoder.decode(this.#bytes.subarray(this.#at, this.#at + n));
    this.#at += n;
    return s;
  }

  value(depth: number): MarshalValue {
    if (depth > MAX_DEPTH) this.#fail(`nested more than ${MAX_DEPTH} deep`);
    const start = this.#at;
    const code = this.#u8();
    const flagged = (code & FLAG_REF) !== 0;
    const type = String.fromCharCode(code & ~FLAG_REF);
    // A flagged object takes its reference slot before its contents are read (they may refer
    // to it), and fills it once known.
    const slot = flagged ? this.#refs.push(null) - 1 : -1;
    const done = (v: MarshalValue): MarshalValue => {
      if (slot >= 0) this.#refs[slot] = v;
      return v;
    };
    switch (type) {
      case "N":
        return done(null);
      case "F":
        return done(false);
      case "T":
        return done(true);
      case "i":
        return done(this.#i32());
      case "I": {
        this.#need(8);
        const v = Number(this.#view.getBigInt64(this.#at, true));
        this.#at += 8;
        return done(v);
      }
      case "l": {
        // Python's long: a signed count of 15-bit digits, least significant first.
        const n = this.#i32();
        const digits = this.#length(Math.abs(n), 2);
        let v = 0;
        for (let i = 0, scale = 1; i < digits; i++, scale *= 32768) {
          this.#need(2);
          v += this.#view.getUint16(this.#at, true) * scale;
          this.#at += 2;
        }
        return done(n < 0 ? -v : v);
      }
      case "g": {
        this.#need(8);
        const v = this.#view.getFloat64(this.#at, true);
        this.#at += 8;
        return done(v);
      }
      case "f": {
        const v = Number(this.#text(this.#u8(), latin1));
        if (Number.isNaN(v)) this.#fail("a float that is not a number", start);
        return done(v);
      }
      case "s": // bytes (Python 2: str)
      case "u": // unicode (UTF-8)
        return done(this.#text(this.#i32(), utf8));
      case "t": { // interned: Python 2 keeps a table for `R`; Python 3 a plain str
        const s = this.#text(this.#i32(), utf8);
        this.#interned.push(s);
        return done(s);
      }
      case "R": {
        const i = this.#i32();
        if (i < 0 || i >= this.#interned.length) this.#fail(`string reference ${i} out of range`);
        return done(this.#interned[i]);
      }
      case "a":
      case "A":
        return done(this.#text(this.#i32(), latin1));
      case "z":
      case "Z":
        return done(this.#text(this.#u8(), latin1));
      case "(":
      case "[":
      case "<":
      case ">":
        return this.#items(this.#i32(), depth, done);
      case ")":
        return this.#items(this.#u8(), depth, done);
      case "{": {
        const entries: [MarshalValue, MarshalValue][] = [];
        const dict: MarshalDict = { dict: entries };
        done(dict);
        for (;;) {
          this.#need(1);
          if (this.#bytes[this.#at] === 0x30 /* 0: the end */) {
            this.#at++;
            return dict;
          }
          const key = this.value(depth + 1);
          entries.push([key, this.value(depth + 1)]);
        }
      }
      case "r": {
        const i = this.#i32();
        if (i < 0 || i >= this.#refs.length) this.#fail(`reference ${i} out of range`, start);
        return this.#refs[i];
      }
      default:
        return this.#fail(
          `unexpected type code 0x${code.toString(16).padStart(2, "0")} at offset ${start}`,
          start,
        );
    }
  }

  #items(n: number, depth: number, done: (v: MarshalValue) => MarshalValue): MarshalValue[] {
    const items: MarshalValue[] = [];
    done(items);
    const count = this.#length(n);
    for (let i = 0; i < count; i++) items.push(this.value(depth + 1));
    return items;
  }
}
