/**
 * V8 frames made readable: a frame transform for the perf collapser (PerfOptions.transform) for
 * Node.js and Deno recorded with `--perf-basic-prof`. V8 names JIT code in the perf map as
 * `JS:*fib /app/x.js:3:13`; the prefix and the tier marker change as code warms up (`~`
 * interpreted, `^` baseline, `+` Maglev, `*` TurboFan), so the same function would show as
 * several frames. Named like Python's frames instead, `fib (x.js:3)`, they merge: the function,
 * and where it is, its file's base name (a package's file by its path below node_modules/, as
 * Python's by theirs below site-packages/) and its first line (a runtime's pseudo-path such as
 * `node:internal/modules/cjs/loader` is kept whole). The whole path stays in the frame's
 * description (frames.ts: `describeFrame`).
 */
import { memoize } from "./cache.ts";
import { parseV8Symbol } from "./frames.ts";
import type { FrameLike } from "./python.ts";

/**
 * `JS:*fib /app/x.js:3:13` → `fib (x.js:3)`; `JS:~ node:internal/main/run_main_module:1:1` →
 * `(anonymous) (node:internal/main/run_main_module:1)`; a function without a position keeps its
 * name alone. Other names (`Builtin:ArrayPrototypeSort`, C++ frames) are returned unchanged.
 */
export const v8FrameName: (sym: string) => string = memoize((sym) => {
  const js = parseV8Symbol(sym);
  if (js === undefined) return sym;
  if (js.file === undefined) return js.func;
  // Absolute paths (and Deno's file URLs, made paths) shorten to the file's name, or to its
  // path below the last node_modules/ (a package's file: `lodash/index.js`).
  const modules = js.file.lastIndexOf("/node_modules/");
  const where = !js.file.startsWith("/")
    ? js.file
    : modules !== -1
    ? js.file.slice(modules + "/node_modules/".length)
    : js.file.slice(js.file.lastIndexOf("/") + 1);
  return js.line === undefined ? `${js.func} (${where})` : `${js.func} (${where}:${js.line})`;
});

/**
 * Gives the V8 frames of one stack (leaf first) their final names (`display`: its parentheses
 * are no argument list); other frames pass through untouched.
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
