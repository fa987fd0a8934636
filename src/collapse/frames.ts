/**
 * What a frame is, decided in one place from the two things every profiler prints for it: its
 * symbol and its module (the binary, library or symbol map it was found in). The perf collapser
 * marks frames with it (`_[k]`, `_[j]`), the Python and V8 frame transforms find their frames
 * with it, the capture diagnosis counts with it, and the collapsers give each folded name its
 * {@link FrameKind} for the profile model.
 *
 * Modules as perf prints them: `[kernel.kallsyms]` (and other bracketed names for kernel code:
 * `[nf_conntrack]`, `[vdso]`), a path (`/usr/lib/x86_64-linux-gnu/libc.so.6`), a runtime's symbol
 * map (`/tmp/perf-PID.map`), an object `perf inject --jit` wrote (`/tmp/jitted-PID-N.so`), perf's
 * `inlined`, or `[unknown]` for an address in no mapping.
 *
 * Every function here is pure and looks at one frame.
 */
import type { FrameInfo, FrameKind } from "../profile/profile.ts";
import { memoize } from "./cache.ts";

/** True for a module perf could not name (`[unknown]`, or nothing printed). */
export function isUnknownModule(module: string): boolean {
  return module === "[unknown]" || module === "";
}

/**
 * True for a path ending in `vmlinux`, optionally followed by a version made of letters,
 * digits, `-`, `.` and `_` (`/usr/lib/debug/boot/vmlinux-5.4.14-cloudflare`).
 */
export function isVmlinux(module: string): boolean {
  const at = module.lastIndexOf("vmlinux");
  if (at === -1) return false;
  for (let i = at + 7; i < module.length; i++) {
    const c = module.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c === 45 || c === 46 || c === 95;
    if (!ok) return false;
  }
  return true;
}

/**
 * True for kernel code: `[kernel.kallsyms]` or any other bracketed module perf names (kernel
 * modules, `[vdso]`: code the kernel maps into every process), a `vmlinux` (versioned or not)
 * or a `.ko` file; never a module whose name says `unknown`. This is what stackcollapse-perf.pl
 * and inferno mark `_[k]`, with versioned vmlinux and `.ko` files added.
 */
export function isKernelModule(module: string): boolean {
  if (module.includes("unknown")) return false;
  return module.startsWith("[") || module.endsWith(".ko") || isVmlinux(module);
}

/**
 * The module of the Python frames flame's own interpreter reader put into perf's stacks (the
 * splice): their symbols are already the names shown, `func (file.py)`. Not in brackets, which
 * name kernel code.
 */
export const READER_PYTHON_MODULE = "<python reader>";

const PERF_MAP = /\/perf-\d+\.map$/;

/**
 * True for a runtime's perf symbol map, `/tmp/perf-PID.map` (V8 with --perf-basic-prof, CPython
 * 3.12's -X perf, the JVM's -XX:+DumpPerfMapAtExit, perf-map-agent). perf names the JIT code of
 * a process after the map even when the map does not exist.
 */
export function isPerfMap(module: string): boolean {
  return PERF_MAP.test(module);
}

const JITTED = /(?:^|\/)jitted-\d+-\d+\.so$/;

/** True for an object `perf inject --jit` wrote from a jitdump: `jitted-PID-N.so`. */
export function isJittedObject(module: string): boolean {
  return JITTED.test(module);
}

/** True for code a JIT compiler made: a perf map or a `perf inject` object. */
export function isJitModule(module: string): boolean {
  return isPerfMap(module) || isJittedObject(module);
}

/** The CPython interpreter: libpython3.13.so.1.0, or a static python3.13 binary. */
const PYTHON_INTERPRETER = /(?:^|\/)(?:lib)?python\d(?:\.\d+)?[a-z]*(?:\.so(?:\.[\d.]+)?)?$/;

/** True when `module` is the CPython interpreter (libpython or a static python binary). */
export const isPythonInterpreter: (module: string) => boolean = memoize(
  (module) => PYTHON_INTERPRETER.test(module),
  10_000,
);

/** True for a CPython perf-trampoline frame: `py::QUALNAME:FILE` (3.12+ `-X perf`/`perf_jit`). */
export function isPythonSymbol(sym: string): boolean {
  return sym.startsWith("py::");
}

/** A CPython perf-trampoline symbol's parts. */
export interface PythonSymbol {
  /** The function's qualified name (`Class.method`, `<module>`). */
  func: string;
  /** The source file as CPython gave it: a path, or a pseudo-file (`<string>`); may be "". */
  file: string;
}

/** `py::QUALNAME:FILE` → its function and file, or undefined for another symbol. */
export function parsePythonSymbol(sym: string): PythonSymbol | undefined {
  if (!isPythonSymbol(sym)) return undefined;
  const body = sym.slice(4);
  const colon = body.indexOf(":");
  if (colon === -1) return { func: body, file: "" };
  return { func: body.slice(0, colon), file: body.slice(colon + 1) };
}

/**
 * V8's names for JS code in its perf map: a type prefix and a tier mark (`~` interpreted, `^`
 * baseline, `+` Maglev, `*` TurboFan, and V8 15's extra `'`). Older V8 wrote `LazyCompile:`,
 * `Function:`, `Script:`.
 */
const V8_JS = /^(?:JS|LazyCompile|Function|Script|Eval|InterpretedFunction):[~^+*']*/;
/** V8's names for its own generated code in the perf map (builtins, stubs, handlers). */
const V8_RUNTIME = /^(?:Builtin|BytecodeHandler|Stub|Handler|RegExp|CodeCreation):/;
/** A V8 source position: `file:line:column` or (older V8) `file:line`. */
const V8_POSITION = /^(.*?):(\d+)(?::(\d+))?$/;

/** True for a JavaScript function V8 named in its perf map (`JS:*fib /app/x.js:3:13`). */
export function isV8Symbol(sym: string): boolean {
  return V8_JS.test(sym);
}

/** A V8 JavaScript symbol's parts. */
export interface V8Symbol {
  /** The function's name; `(anonymous)` when V8 gave none. */
  func: string;
  /**
   * Where it is: a path (Deno's `file://` URLs made paths), or a pseudo-path V8 or the runtime
   * uses (`node:internal/main/run_main_module`, `ext:core/01_core.js`, `evalmachine.<anonymous>`).
   */
  file?: string;
  /** The function's first line, 1-based. */
  line?: number;
}

/**
 * `JS:*fib /app/x.js:3:13` → fib in /app/x.js at line 3; `JS:~ node:internal/x:1:1` → an
 * anonymous function in node:internal/x. Returns undefined for anything but V8's JS code.
 */
export function parseV8Symbol(sym: string): V8Symbol | undefined {
  const m = V8_JS.exec(sym);
  if (m === null) return undefined;
  const rest = sym.slice(m[0].length);
  const space = rest.lastIndexOf(" ");
  const where = space === -1 ? undefined : V8_POSITION.exec(rest.slice(space + 1));
  if (where === undefined || where === null) {
    return { func: rest === "" ? "(anonymous)" : rest };
  }
  const func = rest.slice(0, space).trim();
  let file = where[1];
  if (file.startsWith("file://")) file = decodeFileUrl(file);
  return { func: func === "" ? "(anonymous)" : func, file, line: Number(where[2]) };
}

/** `file:///a%20b/x.js` → `/a b/x.js` (the URL as it was when it cannot be decoded). */
function decodeFileUrl(url: string): string {
  const path = url.slice("file://".length);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The outermost frames of a whole user stack: process and thread start-up, per runtime. */
const STARTUP = new RegExp(
  "^(?:_start|__libc_start_main\\S*|__libc_start_call_main|start_thread|clone3?|__clone\\S*" +
    "|thread_start|_dl_start_user|_dl_start|runtime\\.goexit\\S*|runtime\\.mstart\\S*" +
    "|runtime\\.rt0_go\\S*|_rt0_\\w+)$",
);

/**
 * True for a process or thread start-up function (libc's `_start`, `__libc_start_main`,
 * `start_thread`, `clone`; the dynamic loader's; Go's runtime roots): what a stack that was
 * unwound to its end starts with.
 */
export function isStartupSymbol(sym: string): boolean {
  return STARTUP.test(sym);
}

/** A JVM class descriptor (`Lorg/x/Y;.call`, perf-map-agent) or a JDK perf map signature. */
const JAVA_SYMBOL = /^L[\w$/]+;|^[\w$.<>\[\]]+ [\w$]+(?:\.[\w$<>]+)+\(/;

/** What decides a frame's kind besides its symbol and module. */
export interface FrameContext {
  /** The process's name starts with `java` (perf-map frames of a JVM are Java's). */
  java?: boolean;
}

/**
 * The kind of the frame `sym` in `module` (symbols as perf prints them, `+0x` offset or not):
 * - `python`: a CPython trampoline frame (`py::`), wherever its code lives;
 * - `js`: a JavaScript function V8 named;
 * - `java`: JIT code of a JVM (a perf map or jitted object in a `java` process, or named like
 *   Java: `LClass;.method`, `long Work.fib(int)`);
 * - `jit`: other JIT code (V8's builtins and stubs, unnamed code in a perf map);
 * - `kernel`: see {@link isKernelModule};
 * - `unknown`: an address in no mapping, without a symbol;
 * - `native`: everything else (compiled code in a binary or library, with a symbol or not).
 */
export function frameKind(sym: string, module: string, context: FrameContext = {}): FrameKind {
  if (isPythonSymbol(sym) || module === READER_PYTHON_MODULE) return "python";
  if (isV8Symbol(sym)) return "js";
  if (isJitModule(module)) {
    if (V8_RUNTIME.test(sym)) return "jit";
    if (context.java || JAVA_SYMBOL.test(sym)) return "java";
    return "jit";
  }
  if (isKernelModule(module)) return "kernel";
  if (isUnknownModule(module)) {
    return sym === "[unknown]" || sym.trim() === "" ? "unknown" : "native";
  }
  return "native";
}

/**
 * What is known of the frame `sym` in `module`: its kind, and its source file (and line) where
 * the symbol says (Python `py::func:/path/file.py`, V8 `JS:*fib /app/x.js:3:13`), or its module
 * for compiled code.
 */
export function describeFrame(sym: string, module: string, context: FrameContext = {}): FrameInfo {
  const kind = frameKind(sym, module, context);
  if (kind === "python") {
    const py = parsePythonSymbol(sym);
    return py === undefined || py.file === "" ? { kind } : { kind, file: py.file };
  }
  if (kind === "js") {
    const js = parseV8Symbol(sym)!;
    if (js.file === undefined) return { kind };
    return js.line === undefined ? { kind, file: js.file } : { kind, file: js.file, line: js.line };
  }
  if (kind === "unknown" || isUnknownModule(module) || module === "inlined") return { kind };
  return { kind, module };
}

/** Kernel modules as DTrace names them: illumos' `unix`/`genunix`, macOS's kernel and kexts. */
const DTRACE_KERNEL = /^(?:unix|genunix|kernel|mach_kernel|com\.apple\.\S+)$/;

/**
 * What a DTrace frame (`module`function`, `+0xoffset` or not, or a bare `0x` address) is:
 * kernel code by its module, an address without a symbol, or native code in its module.
 */
export function describeDtraceFrame(frame: string): FrameInfo {
  const tick = frame.indexOf("`");
  if (tick === -1) return frame.startsWith("0x") ? { kind: "unknown" } : { kind: "native" };
  const module = frame.slice(0, tick);
  const kind = DTRACE_KERNEL.test(module) || isKernelModule(module) ? "kernel" : "native";
  return { kind, module };
}
