import assert from "node:assert/strict";
import { diagnose, StackStats, summarizeStack } from "../src/capture/diagnose.ts";
import type { FrameLike } from "../src/collapse/python.ts";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const f = (sym: string, module: string): FrameLike => ({ sym, module });
const rooted = [
  f("leaf", "/bin/p"),
  f("main", "/bin/p"),
  f("__libc_start_call_main", LIBC),
  f("_start", "/bin/p"),
];
const cut = [f("leaf", "/bin/p"), f("main", "/bin/p")];
const garbage = [f("leaf", "/bin/p"), f("[unknown]", "[unknown]")];

function stats(stacks: [FrameLike[], number][], maxStack = 127): StackStats {
  const s = new StackStats(maxStack);
  for (const [frames, n] of stacks) for (let i = 0; i < n; i++) s.observe(frames);
  return s;
}

Deno.test("diagnose: whole stacks say nothing", () => {
  assert.deepEqual(
    diagnose(stats([[rooted, 100]]), {
      callGraph: { mode: "fp" },
      maxStack: 127,
      kinds: ["native"],
    }),
    [],
  );
  assert.deepEqual(
    diagnose(stats([[cut, 10]]), { maxStack: 127, kinds: [] }),
    [],
    "too few samples",
  );
});

Deno.test("diagnose: frame-pointer stacks that stop short → use DWARF", () => {
  const h = diagnose(stats([[rooted, 21], [cut, 79]]), {
    callGraph: { mode: "fp" },
    maxStack: 127,
    kinds: ["native"],
  });
  assert.equal(h.length, 1);
  assert.match(h[0], /only 21% reach _start or start_thread .*use --call-graph dwarf/);
});

Deno.test("diagnose: DWARF stacks that run out of copied stack → a bigger size", () => {
  const h = diagnose(stats([[rooted, 68], [garbage, 32]]), {
    callGraph: { mode: "dwarf", size: 8192 },
    maxStack: 127,
    kinds: ["python"],
  });
  assert.match(h[0], /only 68% .*--call-graph dwarf,16384/);
  const max = diagnose(stats([[rooted, 10], [garbage, 90]]), {
    callGraph: { mode: "dwarf", size: 65528 },
    maxStack: 127,
    kinds: [],
  });
  assert.match(max[0], /even with the largest DWARF stack copy/);
});

Deno.test("diagnose: [unknown] addresses in an FP walk, and stacks cut at max_stack", () => {
  const deep = Array.from({ length: 127 }, () => f("rec", "/bin/p"));
  const ctx = { callGraph: { mode: "fp" } as const, maxStack: 127, kinds: ["native"] };
  const h = diagnose(stats([[rooted, 50], [garbage, 50]]), ctx);
  assert.ok(h.some((x) => /of frames are \[unknown\] addresses/.test(x)));
  const d = diagnose(stats([[rooted, 50], [deep, 10]]), ctx);
  assert.ok(d.some((x) => /exactly 127 frames deep.*perf_event_max_stack=1024/.test(x)));
});

Deno.test("diagnose: unnamed JIT frames and stripped binaries", () => {
  const jit = [f("[unknown]", "/tmp/perf-9.map"), f("[unknown]", "/tmp/perf-9.map"), ...rooted];
  const h = diagnose(stats([[jit, 50]]), {
    callGraph: { mode: "fp" },
    maxStack: 127,
    kinds: ["node"],
  });
  assert.ok(h.some((x) => /unnamed JIT code: start node with --perf-basic-prof/.test(x)));
  const stripped = [
    f("[unknown]", "/opt/app"),
    f("[unknown]", "/opt/app"),
    f("_start", "/opt/app"),
  ];
  const s = diagnose(stats([[stripped, 50]]), { maxStack: 127, kinds: [] });
  assert.ok(s.some((x) => /frames in \/opt\/app have no symbol/.test(x)));
});

Deno.test("diagnose: Python 3.12 stacks stop at a py:: frame; 3.11 has none", () => {
  const py312 = [f("leaf", "/lib/libpython3.12.so.1.0"), f("py::fib:/w.py", "/tmp/perf-5.map")];
  const h = diagnose(stats([[py312, 50]]), {
    callGraph: { mode: "dwarf", size: 32768 },
    maxStack: 127,
    kinds: ["python"],
  });
  assert.equal(h.length, 1, h.join("\n"));
  assert.match(h[0], /innermost Python function/);
  const py311 = [f("_PyEval_EvalFrameDefault", "/lib/libpython3.11.so.1.0"), ...rooted];
  const old = diagnose(stats([[py311, 50]]), { maxStack: 127, kinds: ["python"] });
  assert.match(old[0], /no Python function names/);
  assert.deepEqual(
    diagnose(stats([[py311, 50]]), { maxStack: 127, kinds: ["python"], pythonNoted: true }),
    [],
  );
});

Deno.test("summary: kernel frames, rooted through kernel frames on top", () => {
  const s = summarizeStack([f("do_syscall_64", "[kernel.kallsyms]"), ...rooted]);
  assert.equal(s.kernel, true);
  assert.equal(s.rooted, true);
  assert.equal(s.frames, 5);
  const a = stats([[rooted, 3]]);
  const b = stats([[cut, 2]]);
  a.merge(b);
  assert.equal(a.samples, 5);
  assert.equal(a.rooted, 3);
  assert.equal(a.modules.get("/bin/p")?.frames, 3 * 3 + 2 * 2);
});

Deno.test("diagnose: a failed perf_jit attach says so, without misleading stack-size hints", () => {
  const lib = "/lib/libpython3.13.so.1.0";
  const broken = [f("_PyEval_EvalFrameDefault", lib), f("[unknown]", "/tmp/perf-7.map")];
  const h = diagnose(stats([[broken, 50]]), {
    callGraph: { mode: "dwarf", size: 32768 },
    maxStack: 127,
    kinds: ["python"],
    pythonJitAttach: true,
  });
  assert.equal(h.length, 1, h.join("\n"));
  assert.match(h[0], /attaching to a Python started with perf_jit .*'flame run/);
});
