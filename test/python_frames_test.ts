import assert from "node:assert/strict";
import { collapsePythonFrames, isGlueSymbol, pythonFrameName } from "../src/collapse/python.ts";
import { isPythonInterpreter as isInterpreterModule } from "../src/collapse/frames.ts";
import { tidyV8Frames, v8FrameName } from "../src/collapse/node.ts";

const LIB = "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0";
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const K = "[kernel.kallsyms]";
const f = (sym: string, module: string) => ({ sym, module });
const jit = (name: string, n: number) =>
  f(`py::${name}:/tmp/demo/work.py`, `/tmp/jitted-9-${n}.so`);
/** The names frames end up with: the final name a transform gave, else the symbol. */
const names = (frames: { sym: string; display?: string }[]) =>
  frames.map((x) => x.display ?? x.sym);

/** A 3.13 perf_jit stack, leaf first: <module> → outer → io_work → write(2). */
const IO_STACK = [
  f("do_syscall_64", K),
  f("entry_SYSCALL_64_after_hwframe", K),
  f("__GI___libc_write", LIBC),
  f("_Py_write", LIB),
  f("_io_FileIO_write", LIB),
  f("method_vectorcall_O", LIB),
  f("PyObject_Vectorcall", LIB),
  f("_PyEval_EvalFrameDefault", LIB),
  jit("io_work", 3),
  f("py_trampoline_evaluator", LIB),
  f("_PyObject_VectorcallTstate", LIB),
  f("PyObject_Vectorcall", LIB),
  f("_PyEval_EvalFrameDefault", LIB),
  jit("outer", 2),
  f("py_trampoline_evaluator", LIB),
  f("PyObject_Vectorcall", LIB),
  f("_PyEval_EvalFrameDefault", LIB),
  jit("<module>", 1),
  f("py_trampoline_evaluator", LIB),
  f("_PyEval_Vector", LIB),
  f("PyEval_EvalCode", LIB),
  f("run_mod", LIB),
  f("Py_RunMain", LIB),
  f("Py_BytesMain", LIB),
  f("__libc_start_call_main", LIBC),
  f("__libc_start_main@@GLIBC_2.34", LIBC),
  f("_start", "/root/.pyenv/versions/3.13.0/bin/python3.13"),
];

Deno.test("python: one stack from <module> down to the syscall", () => {
  assert.deepEqual(names(collapsePythonFrames(IO_STACK)), [
    "do_syscall_64",
    "entry_SYSCALL_64_after_hwframe",
    "__GI___libc_write",
    "_Py_write",
    "_io_FileIO_write",
    "io_work (work.py)",
    "outer (work.py)",
    "<module> (work.py)",
  ]);
});

Deno.test("python: only the glue right above the innermost Python frame goes", () => {
  const stack = [
    f("[unknown]", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"),
    f("SHA256_Update", "/usr/lib/x86_64-linux-gnu/libcrypto.so.3"),
    f("EVP_update", "/x/_hashlib.cpython-313-x86_64-linux-gnu.so"),
    f("_PyEval_EvalFrameDefault", LIB),
    jit("native_hot", 4),
    f("_PyEval_EvalFrameDefault", LIB),
    jit("<module>", 1),
  ];
  assert.deepEqual(names(collapsePythonFrames(stack)), [
    "[unknown]",
    "SHA256_Update",
    "EVP_update",
    "native_hot (work.py)",
    "<module> (work.py)",
  ]);
  // The garbage collector is interpreter code but not glue: it stays visible.
  const gc = [
    f("gc_collect_main", LIB),
    f("_Py_RunGC", LIB),
    f("_Py_HandlePending", LIB),
    f("_PyEval_EvalFrameDefault", LIB),
    jit("json_work", 5),
  ];
  assert.deepEqual(names(collapsePythonFrames(gc)), [
    "gc_collect_main",
    "_Py_RunGC",
    "_Py_HandlePending",
    "json_work (work.py)",
  ]);
});

Deno.test("python: a C extension calling back into Python stays between the frames", () => {
  const stack = [
    jit("key", 2),
    f("py_trampoline_evaluator", LIB),
    f("_PyEval_EvalFrameDefault", LIB),
    f("PyObject_Vectorcall", LIB),
    f("my_sort_callback", "/x/_ext.cpython-313-x86_64-linux-gnu.so"),
    f("_PyEval_EvalFrameDefault", LIB),
    jit("main", 1),
  ];
  assert.deepEqual(names(collapsePythonFrames(stack)), [
    "key (work.py)",
    "my_sort_callback",
    "main (work.py)",
  ]);
});

Deno.test("python: an embedding program's frames below Python stay; threads lose start_thread", () => {
  const stack = [
    jit("run", 1),
    f("py_trampoline_evaluator", LIB),
    f("PyEval_EvalCode", LIB),
    f("game_loop", "/opt/game/bin/game"),
    f("main", "/opt/game/bin/game"),
    f("start_thread", LIBC),
    f("clone3", LIBC),
  ];
  assert.deepEqual(names(collapsePythonFrames(stack)), ["run (work.py)", "game_loop", "main"]);
});

Deno.test("python: stacks without Python frames are returned as they are", () => {
  const stack = [
    f("leaf", "/bin/prog"),
    f("_PyEval_EvalFrameDefault", LIB),
    f("main", "/bin/prog"),
  ];
  assert.equal(collapsePythonFrames(stack), stack);
});

Deno.test("python: frame names, interpreter modules and glue", () => {
  assert.equal(pythonFrameName("py::fib:/tmp/demo/py/work.py"), "fib (work.py)");
  assert.equal(pythonFrameName("py::Cls.meth:/a/b/mod.py"), "Cls.meth (mod.py)");
  assert.equal(
    pythonFrameName("py::_find_and_load:<frozen importlib._bootstrap>"),
    "_find_and_load (<frozen importlib._bootstrap>)",
  );
  assert.equal(pythonFrameName("py::<lambda>:"), "<lambda>");
  assert.equal(pythonFrameName("main"), "main");
  // The standard library's pool.py and the user's are told apart, as the reader tells them.
  assert.equal(
    pythonFrameName("py::Pool.map:/opt/py/lib/python3.12/multiprocessing/pool.py"),
    "Pool.map (multiprocessing/pool.py)",
  );
  assert.equal(pythonFrameName("py::work:/home/u/app/pool.py"), "work (pool.py)");
  assert.ok(isInterpreterModule(LIB));
  assert.ok(isInterpreterModule("/usr/bin/python3.12"));
  assert.ok(isInterpreterModule("libpython3.12d.so"));
  assert.ok(!isInterpreterModule("/x/_hashlib.cpython-313-x86_64-linux-gnu.so"));
  assert.ok(isGlueSymbol("_PyEval_EvalFrameDefault.cold"));
  assert.ok(isGlueSymbol("_PyObject_VectorcallTstate"));
  assert.ok(!isGlueSymbol("_Py_RunGC"));
});

Deno.test("v8: tier markers and prefixes go, so one function is one frame, named like Python's", () => {
  assert.equal(v8FrameName("JS:*fib /tmp/x.js:3:13"), "fib (x.js:3)");
  assert.equal(v8FrameName("JS:~fib /tmp/x.js:3:13"), "fib (x.js:3)");
  // A package's file keeps its path below node_modules/.
  assert.equal(
    v8FrameName("JS:*handle /srv/app/node_modules/express/lib/router/layer.js:86:49"),
    "handle (express/lib/router/layer.js:86)",
  );
  assert.equal(v8FrameName("JS:^fib /tmp/x.js:3:13"), "fib (x.js:3)");
  assert.equal(v8FrameName("JS:+fib /tmp/x.js:3:13"), "fib (x.js:3)");
  assert.equal(v8FrameName("LazyCompile:*fib /tmp/x.js:3"), "fib (x.js:3)");
  assert.equal(v8FrameName("JS:*'fib file:///tmp/d.js:1:13"), "fib (d.js:1)");
  assert.equal(
    v8FrameName("JS:~ node:internal/main/run_main_module:1:1"),
    "(anonymous) (node:internal/main/run_main_module:1)",
  );
  assert.equal(
    v8FrameName("JS:~initializeCJS node:internal/modules/cjs/loader:430:23"),
    "initializeCJS (node:internal/modules/cjs/loader:430)",
  );
  assert.equal(
    v8FrameName("LazyCompile:~body_0 evalmachine.<anonymous>:1"),
    "body_0 (evalmachine.<anonymous>:1)",
  );
  assert.equal(v8FrameName("JS:~get size /app/m.js:7:2"), "get size (m.js:7)");
  assert.equal(v8FrameName("JS:*fib"), "fib");
  assert.equal(v8FrameName("Builtin:ArrayPrototypeSort"), "Builtin:ArrayPrototypeSort");
  assert.equal(v8FrameName("v8::internal::Execution::Call"), "v8::internal::Execution::Call");
  const frames = [f("JS:*fib /x.js:1:1", "/tmp/perf-1.map"), f("main", "/usr/bin/node")];
  assert.deepEqual(names(tidyV8Frames(frames)), ["fib (x.js:1)", "main"]);
  const plain = [f("main", "/usr/bin/node")];
  assert.equal(tidyV8Frames(plain), plain);
});
