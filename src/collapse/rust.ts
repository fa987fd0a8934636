/**
 * Repair of half-demangled Rust symbols, shared by the perf and DTrace collapsers: perf and
 * DTrace print legacy-mangled Rust names with their `$LT$`-style escapes and `::h<hash>` left in.
 */

/** The trailing hash of a legacy-mangled Rust symbol: `::h` and 16 hex digits. */
const RUST_HASH = /::h[0-9a-f]{16}$/;

/** The legacy Rust escapes (`$LT$` ...) and what they stand for. */
const RUST_ESCAPES: Record<string, string> = {
  SP: "@",
  BP: "*",
  RF: "&",
  LT: "<",
  GT: ">",
  LP: "(",
  RP: ")",
  C: ",",
};

/**
 * Repairs a Rust symbol that perf demangled only halfway
 * (`_$LT$std..fs..File$u20$as$u20$std..io..Read$GT$::read::h5d84059cf335c8e6` →
 * `<std::fs::File as std::io::Read>::read`): drops the `::h<hash>`, turns `..` into `::` and
 * `$..$` escapes into their characters. A symbol without the hash is returned unchanged.
 */
export function repairRustSymbol(sym: string): string {
  if (sym.length < 19 || !RUST_HASH.test(sym)) return sym;
  let rest = sym.slice(0, -19);
  // An escape at the start of a path segment is written `_$..$`: the `_` is not part of it.
  if (rest.startsWith("_$")) rest = rest.slice(1);
  let out = "";
  let i = 0;
  while (i < rest.length) {
    const c = rest.charCodeAt(i);
    if (c === 46 /* . */) {
      if (rest.charCodeAt(i + 1) === 46) {
        out += "::";
        i += 2;
      } else {
        out += ".";
        i++;
      }
    } else if (c === 36 /* $ */) {
      const end = rest.indexOf("$", i + 1);
      const decoded = end === -1 ? undefined : decodeRustEscape(rest.slice(i + 1, end));
      if (decoded === undefined) {
        // Not an escape we know: keep the rest verbatim rather than guess.
        out += rest.slice(i);
        break;
      }
      out += decoded;
      i = end + 1;
    } else {
      let j = i + 1;
      while (j < rest.length && rest.charCodeAt(j) !== 36 && rest.charCodeAt(j) !== 46) j++;
      out += rest.slice(i, j);
      i = j;
    }
  }
  return out;
}

function decodeRustEscape(code: string): string | undefined {
  const named = RUST_ESCAPES[code];
  if (named !== undefined) return named;
  // `$u20$`: a character given by its hexadecimal code point.
  if (/^u[0-9a-f]{1,6}$/.test(code)) {
    const cp = parseInt(code.slice(1), 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : undefined;
  }
  return undefined;
}
