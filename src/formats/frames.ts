/**
 * What a frame name tells of the frame, for inputs that carry nothing but names (folded stacks,
 * perf script and DTrace once collapsed): the kind (kernel, JIT, Python, JS, native), and the
 * file and line where the name spells them out. Each name is looked at once per profile.
 */
import type { FrameInfo, Profile } from "../profile/profile.ts";
import { stackFrames } from "../profile/profile.ts";

/** `func (file.py)`, `func (file.py:12)`, `func (<frozen importlib._bootstrap>:1176)`. */
const PYTHON_PAREN = /^(.*) \(((?:[^()]*\.pyw?)|<[^<>]*>)(?::(\d+))?\)$/;
/** CPython's perf trampoline: `py::func:/path/file.py`. */
const PYTHON_TRAMPOLINE = /^py::(.*?):(\/.*|<.*>)$/;
/** A V8 frame as flame names it: `fib (x.js:3)`, `(anonymous) (node:internal/x:1)`. */
const JS_PAREN = /^(.*) \(((?:[^()]*\.(?:m?js|cjs|ts|tsx|jsx|mts))|node:[^()]*?)(?::(\d+))?\)$/;
/** A V8 frame as perf maps name it: `fib /app/x.js:3:13`, `(anonymous) node:internal/x:1:1`. */
const JS_LOCATION = /^(\S.*?) ((?:\/|node:|file:|https?:|ext:)\S*?\.?[^\s:]*):(\d+)(?::\d+)?$/;
/** V8's perf map names before tidying: `JS:*fib`, `LazyCompile:~f`. */
const V8_PREFIX = /^(?:JS|LazyCompile|Function|Script|InterpretedFunction):/;
/** Kernel symbols collapsers mark, or perf's pseudo-module. */
const KERNEL = /_\[k\]$|\[kernel\.kallsyms\]|^\[vmlinux/;

/** What a frame name says about the frame. Names that say nothing are "unknown". */
export function describeFrameName(name: string): FrameInfo {
  if (KERNEL.test(name)) return { kind: "kernel" };
  if (name.endsWith("_[j]")) {
    // JIT code: a runtime's frame (V8's JS, CPython's perf trampoline) by its name, else "jit".
    const inner = describeFrameName(name.slice(0, -4));
    return inner.kind === "js" || inner.kind === "python" ? inner : { kind: "jit" };
  }
  if (name.endsWith("_[i]") || name.endsWith("_[w]")) return { kind: "native" };
  let m = PYTHON_PAREN.exec(name);
  if (m) return withLine({ kind: "python", file: m[2] }, m[3]);
  m = PYTHON_TRAMPOLINE.exec(name);
  if (m) return { kind: "python", file: m[2] };
  m = JS_PAREN.exec(name);
  if (m) return withLine({ kind: "js", file: m[2] }, m[3]);
  if (V8_PREFIX.test(name)) return { kind: "js" };
  m = JS_LOCATION.exec(name);
  if (m && /\.(?:m?js|cjs|ts|tsx|jsx|mts)$|^node:/.test(m[2])) {
    return withLine({ kind: "js", file: m[2] }, m[3]);
  }
  return { kind: "unknown" };
}

function withLine(info: FrameInfo, line: string | undefined): FrameInfo {
  if (line !== undefined) info.line = Number(line);
  return info;
}

/**
 * Fills `profile.frames` from the names of its stacks, for names not described already. Each
 * distinct name is looked at once; the cost is one pass over the stack keys.
 */
export function describeFrames(profile: Profile): void {
  const seen = new Set<string>(profile.frames.keys());
  for (const stack of profile.stacks.keys()) {
    for (const name of stackFrames(stack)) {
      if (seen.has(name)) continue;
      seen.add(name);
      const info = describeFrameName(name);
      if (info.kind !== "unknown") profile.frames.set(name, info);
    }
  }
}
