/**
 * The line a code object is at, from its line table: each version's own encoding, decoded
 * from the description in CPython's `Objects/lnotab_notes.txt` (2.7–3.10) and
 * `Objects/locations.md` (3.11+). Pure functions over the table's bytes; `offset` is in bytes
 * of bytecode (2.7–3.10) or in 16-bit code units (3.11+), as each table counts.
 */

/**
 * 2.7–3.9 `co_lnotab`: pairs (bytecode increment, line increment). The line increment is
 * unsigned in 2.7 and signed from 3.6 (`signedLines`).
 */
export function lnotabLine(
  table: Uint8Array,
  firstLine: number,
  offset: number,
  signedLines: boolean,
): number {
  let line = firstLine;
  let addr = 0;
  for (let i = 0; i + 1 < table.length; i += 2) {
    addr += table[i];
    if (addr > offset) break;
    const d = table[i + 1];
    line += signedLines && d >= 128 ? d - 256 : d;
  }
  return line;
}

/**
 * 3.10 `co_linetable`: pairs (bytecode length of the range, signed line delta), a delta of
 * -128 meaning the range has no line. Returns the line of the range holding `offset` (bytes),
 * or the first line when that range has none.
 */
export function linetable310Line(table: Uint8Array, firstLine: number, offset: number): number {
  let line = firstLine;
  let end = 0;
  for (let i = 0; i + 1 < table.length; i += 2) {
    const start = end;
    end = start + table[i];
    const d = table[i + 1] >= 128 ? table[i + 1] - 256 : table[i + 1];
    if (d !== -128) line += d;
    if (offset >= start && offset < end) return d === -128 ? firstLine : line;
  }
  return line;
}

/**
 * 3.11+ location table: entries of a first byte `1CCCCLLL` (code C, length L+1 code units)
 * and varint payloads. Codes 0–9: same line (one column byte); 10–12: line + (C − 10) (two
 * column bytes); 13: signed-varint line delta only; 14: signed-varint line delta, end-line,
 * column and end-column varints; 15: no location. `offset` is in code units.
 */
export function locationTableLine(table: Uint8Array, firstLine: number, offset: number): number {
  let line = firstLine;
  let unit = 0;
  let i = 0;
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    while (i < table.length) {
      const b = table[i++];
      value += (b & 63) * 2 ** shift;
      shift += 6;
      if ((b & 64) === 0 || shift > 42) break;
    }
    return value;
  };
  const svarint = (): number => {
    const v = varint();
    return v % 2 === 1 ? -Math.floor(v / 2) : v / 2;
  };
  while (i < table.length) {
    const first = table[i++];
    if ((first & 0x80) === 0) continue; // not at an entry start: resynchronise
    const code = (first >> 3) & 15;
    const length = (first & 7) + 1;
    let hasLine = true;
    if (code === 15) {
      hasLine = false;
    } else if (code === 14) {
      line += svarint();
      varint();
      varint();
      varint();
    } else if (code === 13) {
      line += svarint();
    } else if (code >= 10) {
      line += code - 10;
      i += 2;
    } else {
      i += 1;
    }
    if (offset >= unit && offset < unit + length) return hasLine ? line : firstLine;
    unit += length;
  }
  return line;
}
