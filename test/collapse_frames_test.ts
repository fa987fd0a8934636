import assert from "node:assert/strict";
import {
  describeFrame,
  frameKind,
  isJitModule,
  isJittedObject,
  isKernelModule,
  isPerfMap,
  isPythonInterpreter,
  isStartupSymbol,
  parsePythonSymbol,
  parseV8Symbol,
  READER_PYTHON_MODULE,
} from "../src/collapse/frames.ts";

Deno.test("frames: kernel modules: bracketed names, vmlinux (versioned), .ko files", () => {
  for (
    const m of [
      "[kernel.kallsyms]",
      "[nf_conntrack]",
      "[vdso]",
      "/boot/vmlinux",
      "vmlinux-6.1.0-amd64",
      "/usr/lib/debug/boot/vmlinux-5.4.14-cloudflare-2020.1.11",
      "/lib/x.ko",
    ]
  ) {
    assert.ok(isKernelModule(m), m);
  }
  for (const m of ["[unknown]", "[unknown_mod]", "/usr/lib/libc.so.6", "vmlinux/x", "inlined"]) {
    assert.ok(!isKernelModule(m), m);
  }
});

Deno.test("frames: the Python frames the splice put in are Python, not kernel", () => {
  assert.ok(!isKernelModule(READER_PYTHON_MODULE));
  assert.equal(frameKind("compress (mixed.py)", READER_PYTHON_MODULE), "python");
  assert.deepEqual(describeFrame("compress (mixed.py)", READER_PYTHON_MODULE), { kind: "python" });
});

Deno.test("frames: JIT modules: perf maps in any directory, perf inject's objects", () => {
  assert.ok(isPerfMap("/tmp/perf-1234.map"));
  assert.ok(isPerfMap("/var/tmp/perf-1234.map"));
  assert.ok(!isPerfMap("/tmp/perf-x.map"));
  assert.ok(!isPerfMap("/tmp/perf-12.map.old"));
  assert.ok(isJittedObject("/tmp/jitted-31714-4145672264.so"));
  assert.ok(isJittedObject("/home/u/.debug/jit/jitted-1234-7.so"));
  assert.ok(!isJittedObject("/usr/lib/libjitted.so"));
  assert.ok(!isJittedObject("/usr/lib/jitted-helper.so.1"));
  assert.ok(isJitModule("/tmp/perf-1234.map") && isJitModule("/tmp/jitted-1-2.so"));
  assert.ok(!isJitModule("/usr/bin/node"));
});

Deno.test("frames: the CPython interpreter: libpython and static python binaries", () => {
  for (
    const m of [
      "/root/.pyenv/versions/3.13.0/lib/libpython3.13.so.1.0",
      "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0",
      "/usr/bin/python3.11",
      "/opt/py/bin/python3",
      "libpython3.12d.so",
    ]
  ) {
    assert.ok(isPythonInterpreter(m), m);
  }
  for (const m of ["/usr/lib/libc.so.6", "/usr/bin/python-config", "/tmp/perf-1.map"]) {
    assert.ok(!isPythonInterpreter(m), m);
  }
});

Deno.test("frames: start-up symbols of processes and threads", () => {
  for (
    const s of [
      "_start",
      "__libc_start_main@@GLIBC_2.34",
      "__libc_start_call_main",
      "start_thread",
      "clone3",
      "__clone",
      "runtime.goexit.abi0",
    ]
  ) {
    assert.ok(isStartupSymbol(s), s);
  }
  assert.ok(!isStartupSymbol("main") && !isStartupSymbol("_start_work"));
});

Deno.test("frames: Python trampoline symbols", () => {
  assert.deepEqual(parsePythonSymbol("py::fib:/tmp/demo/work.py"), {
    func: "fib",
    file: "/tmp/demo/work.py",
  });
  assert.deepEqual(parsePythonSymbol("py::Cls.run:<string>"), {
    func: "Cls.run",
    file: "<string>",
  });
  assert.deepEqual(parsePythonSymbol("py::f"), { func: "f", file: "" });
  assert.equal(parsePythonSymbol("fib"), undefined);
});

Deno.test("frames: V8 symbols: tier marks, positions, Deno's file URLs, anonymous functions", () => {
  assert.deepEqual(parseV8Symbol("JS:*fib /app/x.js:3:13"), {
    func: "fib",
    file: "/app/x.js",
    line: 3,
  });
  assert.deepEqual(parseV8Symbol("JS:~fib /app/x.js:3:13"), {
    func: "fib",
    file: "/app/x.js",
    line: 3,
  });
  assert.deepEqual(parseV8Symbol("JS:*'fib file:///tmp/a%20b/d.js:1:13"), {
    func: "fib",
    file: "/tmp/a b/d.js",
    line: 1,
  });
  assert.deepEqual(parseV8Symbol("JS:~ node:internal/main/run_main_module:1:1"), {
    func: "(anonymous)",
    file: "node:internal/main/run_main_module",
    line: 1,
  });
  assert.deepEqual(parseV8Symbol("LazyCompile:~body_0 evalmachine.<anonymous>:1"), {
    func: "body_0",
    file: "evalmachine.<anonymous>",
    line: 1,
  });
  assert.deepEqual(parseV8Symbol("JS:~get size /app/m.js:7:2"), {
    func: "get size",
    file: "/app/m.js",
    line: 7,
  });
  assert.deepEqual(parseV8Symbol("JS:*fib"), { func: "fib" });
  assert.equal(parseV8Symbol("Builtin:ArrayPrototypeSort"), undefined);
  assert.equal(parseV8Symbol("v8::internal::Execution::Call"), undefined);
});

Deno.test("frames: kinds from symbol and module", () => {
  const K = "[kernel.kallsyms]";
  assert.equal(frameKind("py::fib:/w.py", "/tmp/jitted-1-2.so"), "python");
  assert.equal(frameKind("py::fib:/w.py", "/tmp/perf-1.map"), "python");
  assert.equal(frameKind("JS:*fib /x.js:1:1", "/tmp/perf-1.map"), "js");
  assert.equal(frameKind("Builtin:ArrayPrototypeSort", "/tmp/perf-1.map"), "jit");
  assert.equal(frameKind("[unknown]", "/tmp/perf-1.map"), "jit");
  assert.equal(frameKind("long Work.fib(int)", "/tmp/perf-1.map"), "java");
  assert.equal(frameKind("Lorg/x/Y;.call", "/tmp/perf-1.map"), "java");
  assert.equal(frameKind("Interpreter", "/tmp/perf-1.map", { java: true }), "java");
  assert.equal(frameKind("Interpreter", "/tmp/perf-1.map"), "jit");
  assert.equal(frameKind("do_syscall_64", K), "kernel");
  assert.equal(frameKind("__vdso_clock_gettime", "[vdso]"), "kernel");
  assert.equal(frameKind("[unknown]", "[unknown]"), "unknown");
  assert.equal(frameKind("main", "/usr/bin/prog"), "native");
  assert.equal(frameKind("[unknown]", "/usr/lib/libcrypto.so.3"), "native");
  assert.equal(frameKind("_PyEval_EvalFrameDefault", "/usr/lib/libpython3.11.so.1.0"), "native");
});

Deno.test("frames: what a frame says of itself: file and line, or module", () => {
  assert.deepEqual(describeFrame("py::fib:/tmp/work.py", "/tmp/jitted-1-2.so"), {
    kind: "python",
    file: "/tmp/work.py",
  });
  assert.deepEqual(describeFrame("JS:^fib /app/x.js:3:13", "/tmp/perf-9.map"), {
    kind: "js",
    file: "/app/x.js",
    line: 3,
  });
  assert.deepEqual(describeFrame("main", "/usr/bin/prog"), {
    kind: "native",
    module: "/usr/bin/prog",
  });
  assert.deepEqual(describeFrame("do_syscall_64", "[kernel.kallsyms]"), {
    kind: "kernel",
    module: "[kernel.kallsyms]",
  });
  assert.deepEqual(describeFrame("[unknown]", "[unknown]"), { kind: "unknown" });
});
