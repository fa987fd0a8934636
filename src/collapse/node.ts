/**
 * V8 frames made readable: a frame transform for the perf collapser (PerfOptions.transform) for
 * Node.js and Deno recorded with `--perf-basic-prof`. V8 names JIT code in the perf map as
 * `JS:*fib /app/x.js:3:13`; the prefix and the tier marker (`~` interpreted, `^` baseline,
 * `+` Maglev, `*` TurboFan, and V8 15's extra `'`) change as code warms up, so the same
 * function would show as several frames. Stripping them merges them. Older V8 wrote
 * `LazyCompile:*fib`, `Function:`, `Script:`; those go too. Deno's `file://` URLs become paths.
 */
import type { FrameLike } from "./python.ts";

const TIER_PREFIX = /^(?:JS|LazyCompile|Function|Script|Eval|InterpretedFunction):[~^+*']*/;

/**
 * `JS:*fib /app/x.js:3:13` → `fib /app/x.js:3:13`; an anonymous function
 * (`JS:~ node:internal/main/run_main_module:1:1`) becomes `(anonymous) node:internal/...`.
 * Other names (`Builtin:ArrayPrototypeSort`, C++ frames) are returned unchanged.
 */
export function v8FrameName(sym: string): string {
  const m = TIER_PREFIX.exec(sym);
  if (!m) return sym;
  let name = sym.slice(m[0].length);
  if (name === "" || name.startsWith(" ")) name = `(anonymous)${name}`;
  return name.replace(" file:///", " /");
}

/**
 * Gives the V8 frames of one stack (leaf first) their final names (`display`: a name like
 * `(anonymous) node:internal/...` is no argument list); other frames pass through untouched.
 */
export function tidyV8Frames<F extends FrameLike>(frames: F[]): F[] {
  let out: F[] | undefined;
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i];
    const name = v8FrameName(f.sym);
    if (name !== f.sym) {
      out ??= frames.slice();
      out[i] = { ...f, display: name };
    }
  }
  return out ?? frames;
}
