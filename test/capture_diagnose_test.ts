import assert from "node:assert/strict";
import {
  type CaptureCommand,
  diagnose,
  fewSamplesWarning,
  StackStats,
  summarizeStack,
} from "../src/capture/diagnose.ts";
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
      command: "run",
      maxStack: 127,
      kinds: ["native"],
    }),
    [],
  );
  assert.deepEqual(
    diagnose(stats([[cut, 10]]), { command: "run", maxStack: 127, kinds: [] }),
    [],
    "too few samples",
  );
});

Deno.test("diagnose: frame-pointer stacks that stop short → use DWARF", () => {
  const h = diagnose(stats([[rooted, 21], [cut, 79]]), {
    callGraph: { mode: "fp" },
    command: "run",
    maxStack: 127,
    kinds: ["native"],
  });
  assert.equal(h.length, 1);
  assert.match(h[0], /only 21% reach _start or start_thread .*use --call-graph dwarf/);
});

Deno.test("diagnose: DWARF stacks that run out of copied stack → a bigger size", () => {
  const h = diagnose(stats([[rooted, 68], [garbage, 32]]), {
    callGraph: { mode: "dwarf", size: 8192 },
    command: "run",
    maxStack: 127,
    kinds: ["python"],
  });
  assert.match(h[0], /only 68% .*--call-graph dwarf,16384/);
  const max = diagnose(stats([[rooted, 10], [garbage, 90]]), {
    callGraph: { mode: "dwarf", size: 65528 },
    command: "run",
    maxStack: 127,
    kinds: [],
  });
  assert.match(max[0], /even with the largest DWARF stack copy/);
});

Deno.test("diagnose: [unknown] addresses in an FP walk, and stacks cut at max_stack", () => {
  const deep = Array.from({ length: 127 }, () => f("rec", "/bin/p"));
  const ctx = {
    command: "run" as const,
    callGraph: { mode: "fp" } as const,
    maxStack: 127,
    kinds: ["native"],
  };
  const h = diagnose(stats([[rooted, 50], [garbage, 50]]), ctx);
  assert.ok(h.some((x) => /of frames are \[unknown\] addresses/.test(x)));
  const d = diagnose(stats([[rooted, 50], [deep, 10]]), ctx);
  assert.ok(d.some((x) => /exactly 127 frames deep.*perf_event_max_stack=1024/.test(x)));
});

Deno.test("diagnose: unnamed JIT frames and stripped binaries", () => {
  const jit = [f("[unknown]", "/tmp/perf-9.map"), f("[unknown]", "/tmp/perf-9.map"), ...rooted];
  const h = diagnose(stats([[jit, 50]]), {
    callGraph: { mode: "fp" },
    command: "run",
    maxStack: 127,
    kinds: ["node"],
  });
  assert.ok(h.some((x) => /unnamed JIT code: start node with --perf-basic-prof/.test(x)));
  const stripped = [
    f("[unknown]", "/opt/app"),
    f("[unknown]", "/opt/app"),
    f("_start", "/opt/app"),
  ];
  const s = diagnose(stats([[stripped, 50]]), { command: "run", maxStack: 127, kinds: [] });
  assert.ok(s.some((x) => /frames in \/opt\/app have no symbol/.test(x)));
});

Deno.test("diagnose: Python 3.12 stacks stop at a py:: frame; 3.11 has none", () => {
  const py312 = [f("leaf", "/lib/libpython3.12.so.1.0"), f("py::fib:/w.py", "/tmp/perf-5.map")];
  const h = diagnose(stats([[py312, 50]]), {
    callGraph: { mode: "dwarf", size: 32768 },
    command: "run",
    maxStack: 127,
    kinds: ["python"],
  });
  assert.equal(h.length, 1, h.join("\n"));
  assert.match(h[0], /innermost Python function/);
  const py311 = [f("_PyEval_EvalFrameDefault", "/lib/libpython3.11.so.1.0"), ...rooted];
  const old = diagnose(stats([[py311, 50]]), { command: "run", maxStack: 127, kinds: ["python"] });
  assert.match(old[0], /no Python function names/);
  assert.deepEqual(
    diagnose(stats([[py311, 50]]), {
      command: "run",
      maxStack: 127,
      kinds: ["python"],
      pythonNoted: true,
    }),
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
    command: "run",
    maxStack: 127,
    kinds: ["python"],
    pythonJitAttach: true,
  });
  assert.equal(h.length, 1, h.join("\n"));
  assert.match(h[0], /attaching to a Python started with perf_jit .*'flame run/);
});

Deno.test("diagnose: an FP walk's [unknown] addresses are evidence in the one truncation hint", () => {
  const h = diagnose(stats([[rooted, 10], [garbage, 90]]), {
    command: "run",
    callGraph: { mode: "fp" },
    maxStack: 127,
    kinds: ["native"],
  });
  assert.equal(h.length, 1, h.join("\n"));
  assert.match(h[0], /only 10% reach _start .*, and 41% of frames are \[unknown\] addresses/);
  assert.match(h[0], /: use --call-graph dwarf$/);
});

Deno.test("diagnose: report says to record again, with flame or perf", () => {
  const at = (
    command: CaptureCommand,
    callGraph: { mode: "fp" } | { mode: "dwarf"; size: number },
  ) =>
    diagnose(stats([[rooted, 21], [cut, 79]]), { command, callGraph, maxStack: 127, kinds: [] })[0];
  assert.match(at("record", { mode: "fp" }), /: use --call-graph dwarf$/);
  assert.match(
    at("report", { mode: "fp" }),
    /: record again with --call-graph dwarf \(flame run --call-graph dwarf -- CMD, or perf record --call-graph dwarf\)$/,
  );
  assert.doesNotMatch(at("report", { mode: "fp" }), /use --call-graph/);
  assert.match(
    at("report", { mode: "dwarf", size: 8192 }),
    /record again with --call-graph dwarf,16384 \(flame run --call-graph dwarf,16384 -- CMD, or perf record --call-graph dwarf,16384\)$/,
  );
  assert.match(
    at("report", { mode: "dwarf", size: 65528 }),
    /record again with --call-graph fp \(flame run --call-graph fp -- CMD, or perf record -g\)$/,
  );
});

Deno.test("diagnose: no Python names, worded for the command that can fix it", () => {
  const lib = "/lib/libpython3.13.so.1.0";
  const unnamed = [f("_PyEval_EvalFrameDefault", lib), ...rooted];
  const hint = (command: CaptureCommand) =>
    diagnose(stats([[unnamed, 50]]), { command, maxStack: 127, kinds: ["python"] });
  assert.match(
    hint("record")[0],
    /started without perf support.*PYTHON_PERF_JIT_SUPPORT=1 \(3\.13\+\) or PYTHONPERFSUPPORT=1 \(3\.12\)/,
  );
  assert.match(hint("run")[0], /-E or -I ignores PYTHON_PERF_JIT_SUPPORT \(give it -X perf_jit/);
  assert.match(hint("report")[0], /record it with 'flame run -- python3 \.\.\.'/);
  // The attach note said it already: once is enough.
  assert.deepEqual(
    diagnose(stats([[unnamed, 50]]), {
      command: "record",
      maxStack: 127,
      kinds: ["python"],
      pythonNoted: true,
    }),
    [],
  );
});

Deno.test("few samples: a warning under 100, with the fix for the command and the rate", () => {
  assert.equal(fewSamplesWarning(100, "run", 99), undefined);
  assert.equal(fewSamplesWarning(0, "run", 99), undefined, "no samples is an error instead");
  assert.equal(
    fewSamplesWarning(16, "run", 99),
    "only 16 samples (0.16 s of CPU time at 99 Hz): too few for reliable proportions; " +
      "raise the rate (-F 999) or profile a longer run",
  );
  assert.match(
    fewSamplesWarning(1, "record", 99)!,
    /^only 1 sample \(.*record for longer \(--duration\)$/,
  );
  assert.match(
    fewSamplesWarning(50, "run", 999)!,
    /; profile a longer run$/,
    "no -F 999 at 999 Hz",
  );
  assert.equal(
    fewSamplesWarning(40, "report"),
    "only 40 samples: too few for reliable proportions; record again at a higher rate " +
      "(-F 999) or for longer",
  );
});

Deno.test("diagnose: a stripped program's whole stacks (its _start unnamed) are not truncated", () => {
  // Recorded from Debian's stripped gzip with DWARF: perf names no frame of gzip itself, so
  // the outermost frame, its _start, is [unknown] in /usr/bin/gzip.
  const gzip = [
    f("[unknown]", "/usr/bin/gzip"),
    f("[unknown]", "/usr/bin/gzip"),
    f("__libc_start_call_main", LIBC),
    f("__libc_start_main_impl", LIBC),
    f("[unknown]", "/usr/bin/gzip"),
  ];
  const h = diagnose(stats([[gzip, 100]]), {
    callGraph: { mode: "dwarf", size: 16384 },
    command: "run",
    maxStack: 127,
    kinds: ["native"],
  });
  assert.ok(!h.some((x) => /truncated/.test(x)), h.join("\n"));
  assert.ok(h.some((x) => /frames in \/usr\/bin\/gzip have no symbol/.test(x)), h.join("\n"));
  // Stacks that end in a library's unnamed code, or in no mapping, are still cut short.
  const cutInLib = [f("[unknown]", "/usr/bin/gzip"), f("[unknown]", LIBC)];
  const t = diagnose(stats([[cutInLib, 100]]), {
    callGraph: { mode: "dwarf", size: 16384 },
    command: "run",
    maxStack: 127,
    kinds: ["native"],
  });
  assert.ok(t.some((x) => /stacks look truncated/.test(x)), t.join("\n"));
});
