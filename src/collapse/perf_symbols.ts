/**
 * Symbol tidying for `perf script` frames: the rules stackcollapse-perf.pl applies to every
 * function name, with the fixes flame promises (argument lists cut at the top-level `(` only,
 * half-demangled Rust names repaired, more kernel and JIT objects recognised).
 *
 * Every function here is pure and works on one name at a time.
 */
import { repairRustSymbol } from "./rust.ts";
import { isJitModule, isKernelModule } from "./frames.ts";

/** Removes a trailing `+0x<lowercase hex>` (perf >= 4.8 prints symbol offsets). */
export function stripOffset(sym: string): string {
  const plus = sym.lastIndexOf("+0x");
  if (plus === -1 || plus + 3 === sym.length) return sym;
  for (let i = plus + 3; i < sym.length; i++) {
    const c = sym.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return sym;
  }
  return sym.slice(0, plus);
}

/**
 * Splits a symbol at `->` (perf-map-agent writes Java inlining as `outer->inner`). Like Perl's
 * `split`, trailing empty pieces are dropped, so `""` and `"->"` give no pieces at all.
 */
export function splitInlineChain(sym: string): string[] {
  const pieces = sym.includes("->") ? sym.split("->") : [sym];
  let n = pieces.length;
  while (n > 0 && pieces[n - 1] === "") n--;
  return n === pieces.length ? pieces : pieces.slice(0, n);
}

/** The last path component of a module (`/usr/lib/libc.so.6` → `libc.so.6`). */
export function moduleBasename(module: string): string {
  return module.slice(module.lastIndexOf("/") + 1);
}

/** Deletes `"` and `'`, as stackcollapse-perf.pl does (they upset the SVG and the shell). */
export function deleteQuotes(func: string): string {
  if (!func.includes('"') && !func.includes("'")) return func;
  return func.replace(/["']/g, "");
}

/**
 * True for a name that looks like a Go method, `.(` and later `).` (`net/http.(*Client).Do`):
 * Perl's `\.\(.*\)\.`, found with two searches (the expression is quadratic on a long name of
 * `.(`).
 */
function isGoMethod(func: string): boolean {
  const open = func.indexOf(".(");
  return open !== -1 && func.lastIndexOf(").") >= open + 2;
}

/**
 * Cuts the argument list off a function name: everything from the first `(` that is not inside
 * `<>`, `{}` or `[]` (so `std::function<int (int)>::operator()` keeps its template and lambda
 * names like `{lambda(long)#1}` survive). A name that looks like a Go method
 * (`net/http.(*Client).Do`, with `.(...).`) is kept whole, as by Perl; a `(` right after a `.`
 * and `(anonymous namespace)` are part of the name.
 */
export function cutArguments(func: string): string {
  // Perl leaves names that look like Go methods (`.(...).`) whole; so does flame.
  if (isGoMethod(func)) return func;
  let depth = 0;
  for (let i = 0; i < func.length; i++) {
    switch (func.charCodeAt(i)) {
      case 60: // <
      case 123: // {
      case 91: // [
        depth++;
        break;
      case 62: // >
      case 125: // }
      case 93: // ]
      case 41: // )
        depth--;
        break;
      case 40: // (
        if (
          depth === 0 && func.charCodeAt(i - 1) !== 46 /* . */ &&
          !func.startsWith("(anonymous namespace)", i)
        ) {
          return func.slice(0, i);
        }
        depth++;
        break;
    }
  }
  return func;
}

/** Options that change how one frame name is tidied and annotated. */
export interface TidyOptions {
  /** Append `_[k]` to kernel frames. */
  kernel: boolean;
  /** Append `_[j]` to JIT frames. */
  jit: boolean;
  /** Write unknown symbols as `[module <pc>]` instead of `[module]`. */
  addrs: boolean;
}

/**
 * Tidies one function name of a frame (one piece of a `->` chain) the way stackcollapse-perf.pl
 * does, with flame's fixes. `inlined` marks a piece after the first of a chain (`_[i]`); `java`
 * is true when the process name starts with `java` (then a class descriptor's `L` goes).
 */
export function tidyFunction(
  func: string,
  pc: string,
  module: string,
  inlined: boolean,
  java: boolean,
  options: TidyOptions,
): string {
  if (func === "[unknown]") {
    const name = module === "[unknown]" ? "unknown" : moduleBasename(module);
    func = options.addrs ? `[${name} <${pc}>]` : `[${name}]`;
  }
  func = repairRustSymbol(deleteQuotes(func));
  if (func.includes(";")) func = func.replaceAll(";", ":");
  func = cutArguments(func);
  if (java && func.charCodeAt(0) === 76 /* L */ && func.includes("/")) func = func.slice(1);
  return annotate(func, module, inlined, options);
}

/**
 * Appends the marks the options ask for: `_[i]` to a piece of a `->` chain after the first,
 * else `_[k]` to kernel frames and `_[j]` to JIT frames.
 */
export function annotate(
  func: string,
  module: string,
  inlined: boolean,
  options: TidyOptions,
): string {
  if (inlined) {
    if (!func.includes("_[i]")) func += "_[i]";
  } else if (options.kernel && isKernelModule(module)) {
    func += "_[k]";
  } else if (options.jit && isJitModule(module) && !func.includes("_[j]")) {
    func += "_[j]";
  }
  return func;
}

/**
 * A name a frame transform gave as final (`fib (work.py)`): not tidied or cut, only kept
 * readable as one folded frame (`;` separates frames) and marked like any frame of its module.
 */
export function finalName(display: string, module: string, options: TidyOptions): string {
  const name = display.includes(";") ? display.replaceAll(";", ":") : display;
  return annotate(name, module, false, options);
}

/**
 * Cleans a `perf script -F+srcline` source line the way stackcollapse-perf.pl does (drops every
 * `[...]` and surrounding space) and also drops the ` (inlined)` marker perf puts after the
 * source line of an inlined frame.
 */
export function cleanSrcline(line: string): string {
  let s = dropBracketed(line).trim();
  if (s.endsWith(" (inlined)")) s = s.slice(0, -10).trimEnd();
  else if (s === "(inlined)") s = "";
  return s;
}

/**
 * Removes every `[...]` (from a `[` to the first `]` after it), as Perl's `s/\[.*?\]//g` does,
 * in one pass (the expression rescans the rest of the line from every `[` that has no `]`).
 */
function dropBracketed(line: string): string {
  let out = "";
  let from = 0;
  for (;;) {
    const open = line.indexOf("[", from);
    if (open === -1) break;
    const close = line.indexOf("]", open + 1);
    if (close === -1) break;
    out += line.slice(from, open);
    from = close + 1;
  }
  return from === 0 ? line : out + line.slice(from);
}
