/**
 * The splice of the Python reader's frames into perf's native stacks, on stacks shaped like real
 * ones (perf script of pyenv's CPython 3.10 and 3.11 with DWARF unwinding).
 */
import assert from "node:assert/strict";
import {
  evaluationCalls,
  evaluationGroups,
  type NativeFrame,
  PerfSplice,
  type PythonFrameLike,
  type PythonSamples,
  Splicer,
  spliceStack,
  type UncoveredSample,
} from "../src/capture/splice.ts";
import { parseHeaderLine } from "../src/capture/pids.ts";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const PY311 = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0";
const PY310 = "/root/.pyenv/versions/3.10.13/lib/libpython3.10.so.1.0";
const JSON_SO =
  "/root/.pyenv/versions/3.11.7/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so";
const n = (sym: string, module: string): NativeFrame => ({ sym, module });
const py = (label: string, entry = false) => ({ label, entry });
const names = (frames: readonly NativeFrame[]) => frames.map((f) => f.display ?? f.sym);

/** 3.11: `<module>` → main → write_out → os.write, all in one evaluation call. */
const native311 = [
  n("__GI___libc_write", LIBC),
  n("_Py_write", PY311),
  n("os_write", PY311),
  n("cfunction_vectorcall_FASTCALL", PY311),
  n("_PyEval_EvalFrameDefault", PY311),
  n("_PyEval_Vector", PY311),
  n("PyEval_EvalCode", PY311),
  n("run_eval_code_obj", PY311),
  n("run_mod", PY311),
  n("_PyRun_SimpleFileObject", PY311),
  n("Py_BytesMain", PY311),
  n("__libc_start_call_main", LIBC),
  n("__libc_start_main_impl", LIBC),
  n("_start", "/root/.pyenv/versions/3.11.7/bin/python3.11"),
];
const python311 = [py("<module> (w.py)", true), py("main (w.py)"), py("write_out (w.py)")];

Deno.test("splice: 3.11, one evaluation call runs the whole chain", () => {
  assert.deepEqual(evaluationCalls(native311), [4]);
  assert.equal(evaluationGroups(python311).length, 1);
  assert.deepEqual(names(spliceStack(native311, python311)!), [
    "__GI___libc_write",
    "_Py_write",
    "os_write",
    "write_out (w.py)",
    "main (w.py)",
    "<module> (w.py)",
  ]);
});

Deno.test("splice: up to 3.10 one evaluation call per frame; a C extension between stays", () => {
  const native = [
    n("_PyEval_EvalFrameDefault", PY310),
    n("_PyFunction_Vectorcall", PY310),
    n("encoder_listencode_obj", JSON_SO),
    n("encoder_call", JSON_SO),
    n("_PyObject_MakeTpCall", PY310),
    n("_PyEval_EvalFrameDefault", PY310),
    n("function_code_fastcall", PY310),
    n("_PyEval_EvalFrameDefault", PY310),
    n("PyEval_EvalCode", PY310),
    n("main", "/opt/embedder"), // an application embedding Python stays
    n("__libc_start_call_main", LIBC),
  ];
  const python = [py("<module> (a.py)", true), py("dump (a.py)", true), py("default (a.py)", true)];
  assert.deepEqual(names(spliceStack(native, python)!), [
    "default (a.py)",
    "encoder_listencode_obj",
    "encoder_call",
    "dump (a.py)",
    "<module> (a.py)",
    "main",
  ]);
  // A stack read shallower (the program was in `dump`, not yet in `default`): its groups go to
  // the outer calls, the inner call stays native.
  assert.deepEqual(names(spliceStack(native, python.slice(0, 2))!), [
    "_PyEval_EvalFrameDefault",
    "_PyFunction_Vectorcall",
    "encoder_listencode_obj",
    "encoder_call",
    "_PyObject_MakeTpCall",
    "dump (a.py)",
    "<module> (a.py)",
    "main",
  ]);
  // One Python frame too many, or none: the stacks disagree, no splice.
  assert.equal(spliceStack(native, [...python, py("more (a.py)", true)]), undefined);
  assert.equal(spliceStack(native, []), undefined);
});

Deno.test("splice: 2.7's PyEval_EvalFrameEx counts where _PyEval_EvalFrameDefault is absent", () => {
  const PY27 = "/root/.pyenv/versions/2.7.18/lib/libpython2.7.so.1.0";
  const native = [
    n("PyEval_EvalFrameEx", PY27),
    n("PyEval_EvalCodeEx", PY27),
    n("PyEval_EvalFrameEx", PY27),
  ];
  assert.deepEqual(evaluationCalls(native), [0, 2]);
  const both = [n("_PyEval_EvalFrameDefault", PY310), n("PyEval_EvalFrameEx", PY310)];
  assert.deepEqual(evaluationCalls(both), [0], "3.x's wrapper is not a second call");
});

/** A perf sample: its thread, time (ns) and native stack (leaf first). */
type PerfSample = [tid: number, timeNs: number, native: readonly NativeFrame[]];

/**
 * Splices perf samples as the perf collapser does, through PerfSplice's hooks: each sample's
 * header, then its stack (a node of its own), and the fold at the end, once everything was
 * learnt. Gives each sample's stack and the splicer, for its counts.
 */
function spliceSamples(python: PythonSamples<PythonFrameLike>, samples: PerfSample[]) {
  const splice = new PerfSplice(python);
  const hooks = splice.hooks((node: readonly NativeFrame[]) => [...node]);
  const variants = samples.map(([tid, timeNs, native]) => {
    hooks.onHeader({ comm: "python3", pid: tid, tid, timeNs });
    return hooks.sampleVariant(native);
  });
  const stacks = samples.map(([, , native], i) => {
    const variant = variants[i];
    return variant === undefined ? native : hooks.variant([...native], variant);
  });
  return { stacks, splicer: splice.splicer };
}

Deno.test("splicer: the nearest sample of the thread, within two periods; misses counted", () => {
  const plain = [n("memcpy", LIBC), n("main", "/bin/p")];
  const { stacks, splicer } = spliceSamples({
    stacks: [python311, python311.slice(0, 2)],
    periodNs: 10e6,
    samples: [
      { time: 1_000e6, tid: 7, stack: 1 },
      { time: 1_010e6, tid: 7, stack: 0 },
      { time: 1_020e6, tid: 8, stack: 0 },
    ],
  }, [
    [7, 1_009e6, native311],
    [7, 1_060e6, native311],
    [9, 1_010e6, native311],
    [7, 1_010e6, plain],
  ]);
  // Nearest to 1,009 ms is the sample at 1,010 ms: the whole chain.
  assert.equal(names(stacks[0]).at(-1), "<module> (w.py)");
  assert.equal(names(stacks[0]).length, 6);
  // 50 ms away: no Python sample near it; the native stack is kept.
  assert.deepEqual(stacks[1], native311);
  // A thread the reader never saw.
  assert.deepEqual(stacks[2], native311);
  // No interpreter frames at all: passed through, not a miss.
  assert.deepEqual(stacks[3], plain);
  assert.equal(splicer.spliced, 1);
  assert.equal(splicer.passed, 1);
  assert.equal(splicer.missed.get("no Python sample near it"), 2);
  assert.equal(splicer.pythonSamples, 3);
});

Deno.test("splicer: where the reader fell behind, a stack up to 25 ms away; none farther", () => {
  // The reader samples every 2 ms (4 ms of tolerance) but skipped 40 ms after 1,000 ms.
  const { stacks, splicer } = spliceSamples({
    stacks: [python311],
    periodNs: 2e6,
    samples: [{ time: 1_000e6, tid: 7, stack: 0 }, { time: 1_040e6, tid: 7, stack: 0 }],
  }, [[7, 1_012e6, native311], [7, 970e6, native311]]);
  // 12 ms from the nearest: beyond the tolerance, within reach.
  assert.equal(names(stacks[0]).at(-1), "<module> (w.py)");
  // 30 ms before the first: out of reach, the native stack is kept.
  assert.deepEqual(stacks[1], native311);
  assert.equal(splicer.spliced, 1);
  assert.equal(splicer.missed.get("no Python sample near it"), 1);
});

const native310 = [
  n("_PyEval_EvalFrameDefault", PY310),
  n("_PyFunction_Vectorcall", PY310),
  n("_PyEval_EvalFrameDefault", PY310),
];

Deno.test("splicer: when the nearest disagrees, a neighbour that agrees is taken", () => {
  const { stacks, splicer } = spliceSamples({
    stacks: [[py("<module> (b.py)", true)], [py("<module> (b.py)", true), py("f (b.py)", true)]],
    periodNs: 10e6,
    samples: [{ time: 0, tid: 1, stack: 1 }, { time: 10e6, tid: 1, stack: 0 }],
  }, [[1, 6e6, native310]]);
  assert.deepEqual(names(stacks[0]), ["f (b.py)", "<module> (b.py)"]);
  assert.equal(splicer.missed.size, 0);
});

Deno.test("splicer: a stack read shallower gives perf's outer calls their frames", () => {
  const module = py("<module> (b.py)", true);
  const deeper = [module, py("f (b.py)", true), py("g (b.py)", true)];
  const { stacks, splicer } = spliceSamples({
    stacks: [[module], deeper],
    periodNs: 2e6,
    samples: [{ time: 0, tid: 1, stack: 0 }, { time: 100e6, tid: 2, stack: 1 }],
  }, [[1, 1e6, native310], [2, 101e6, native310]]);
  // Thread 1 was read only in <module>: the outer call gets it, the inner one stays native.
  assert.deepEqual(names(stacks[0]), [
    "_PyEval_EvalFrameDefault",
    "_PyFunction_Vectorcall",
    "<module> (b.py)",
  ]);
  assert.equal(splicer.partly, 1);
  // Thread 2 was read deeper only: which of its calls perf saw cannot be told.
  assert.deepEqual(stacks[1], native310);
  assert.equal(splicer.missed.get("stacks disagree"), 1);
  assert.equal(splicer.spliced, 1);
});

Deno.test("splicer: a callee's samples go to the function seen calling it, among the candidates", () => {
  // Two sibling functions in one evaluation call: compress (calls zlib) and spin.
  const module = py("<module> (m.py)", true);
  const compress = [module, py("compress (m.py)")];
  const spin = [module, py("spin (m.py)")];
  const splicer = new Splicer({ stacks: [compress, spin], periodNs: 2e6, samples: [] });
  // Nine zlib samples whose nearest stack was compress, one whose nearest was spin.
  for (let i = 0; i < 9; i++) splicer.learn(0, 0, [0, 1], 1, "zlib_compress");
  splicer.learn(0, 0, [1, 0], 1, "zlib_compress");
  // A zlib sample nearest to spin, with compress a little further: compress.
  assert.equal(splicer.choose([1, 0], "zlib_compress"), 0);
  // A pure-Python sample (no callee), or a callee not learnt: the nearest.
  assert.equal(splicer.choose([1, 0], undefined), 1);
  assert.equal(splicer.choose([1, 0], "memcpy"), 1);
  // No candidate is a known caller: the nearest.
  assert.equal(splicer.choose([1], "zlib_compress"), 1);
});

Deno.test("splicer: a call shorter than the reader's period is found in a call nearby", () => {
  // The reader (every 2 ms) read compress 19 ms before a perf sample in zlib and spin around it
  // (this call of compress fell between two reads): within 25 ms, the nearest stack of each
  // other innermost function is a candidate too, behind those within the tolerance.
  const module = py("<module> (m.py)", true);
  const compress = [module, py("compress (m.py)")];
  const spin = [module, py("spin (m.py)")];
  const splicer = new Splicer({
    stacks: [compress, spin],
    periodNs: 2e6,
    samples: [
      { time: 80e6, tid: 1, stack: 0 },
      { time: 97e6, tid: 1, stack: 1 },
      { time: 99e6, tid: 1, stack: 1 },
      { time: 101e6, tid: 1, stack: 1 },
      { time: 140e6, tid: 1, stack: 0 },
    ],
  });
  assert.deepEqual(splicer.candidates(1, 99.5e6, 1), [1, 0]);
  for (let i = 0; i < 5; i++) splicer.learn(0, 0, [0], 1, "zlib_compress");
  assert.equal(splicer.choose([1, 0], "zlib_compress"), 0);
  // Farther than 25 ms no stack is a candidate: at 112 ms only spin's (compress was read at 80
  // and 140 ms), at 170 ms none.
  assert.deepEqual(splicer.candidates(1, 112e6, 1), [1]);
  assert.equal(splicer.candidates(1, 170e6, 1), undefined);
});

Deno.test("perf splice: the reader's samples of what perf could not see, a period per thread", () => {
  // The reader read threads 5 and 7 every millisecond from 0 to 100 ms (thread 7 waited for a
  // CPU from 60 ms on: not running); perf (a period of 10 ms) sampled thread 5 at 50 ms and
  // thread 6 at 30 and 70 ms, and never thread 7.
  const samples = [];
  for (let i = 0; i <= 100; i++) {
    samples.push({ time: i * 1e6, tid: 5, stack: 0 });
    samples.push({ time: i * 1e6, tid: 7, stack: 0, running: i < 60 });
  }
  const splice = new PerfSplice({ stacks: [python311], periodNs: 1e6, samples });
  const hooks = splice.hooks((frames: NativeFrame[]) => frames);
  for (const [tid, ms] of [[5, 50], [6, 30], [6, 70]]) {
    hooks.onHeader(
      parseHeaderLine(
        `python3 100/${tid} [000] 0.${String(ms).padStart(3, "0")}000: 10101010 cpu-clock:`,
      )!,
    );
  }
  const times = (tid: number, s: UncoveredSample[]) =>
    s.filter((x) => x.tid === tid).map((x) => x.time / 1e6);
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  // A program run under perf was recorded whole. Thread 5: perf's sample at 50 ms accounts for
  // the time before it; after it, the reader's samples up to one period (10 ms). Thread 7: the
  // first period of its running samples, none of thread 6 (the reader never read it).
  const launched = splice.uncovered(10e6, { attached: false });
  assert.deepEqual(times(5, launched), range(51, 60));
  assert.deepEqual(times(7, launched), range(0, 9));
  assert.deepEqual(times(6, launched), []);
  assert.ok(launched.every((s) => s.weightNs === 1e6), "each weighs the reader's period");
  // Attached: only between perf's first and last sample (a period either side).
  const attached = splice.uncovered(10e6, { attached: true });
  assert.deepEqual(times(5, attached), range(51, 60));
  assert.deepEqual(times(7, attached), range(20, 29));
  // A budget that is not a whole number of reader periods ends with a part of one.
  const part = splice.uncovered(2.5e6, { attached: false }).filter((s) => s.tid === 5);
  assert.deepEqual(part.map((s) => s.weightNs), [1e6, 1e6, 0.5e6]);
});

Deno.test("perf splice: perf's name of each thread (for the root of the reader's samples)", () => {
  const splice = new PerfSplice({ stacks: [python311], periodNs: 1e6, samples: [] });
  const hooks = splice.hooks((frames: NativeFrame[]) => frames);
  for (const line of ["python3 100/100 0.1: 1 cpu-clock:", "worker 1 100/101 0.2: 1 cpu-clock:"]) {
    hooks.onHeader(parseHeaderLine(line)!);
  }
  assert.equal(splice.perfComm(100), "python3");
  assert.equal(splice.perfComm(101), "worker 1");
  assert.equal(splice.perfComm(102), undefined);
});

Deno.test("splicer: a function read just before and just after a callee's sample counts more", () => {
  const module = py("<module> (m.py)", true);
  const readBack = [module, py("read_back (m.py)")];
  const spin = [module, py("spin (m.py)")];
  const samples = [0, 2e6, 4e6].map((time, i) => ({ time, tid: 1, stack: i < 2 ? 0 : 1 }));
  const splicer = new Splicer({ stacks: [readBack, spin], periodNs: 2e6, samples });
  // Between two reads of read_back; between read_back and spin; after the last read (where
  // the samples below are learnt from).
  assert.equal(splicer.bracketing(1, 1e6), "read_back (m.py)");
  assert.equal(splicer.bracketing(1, 3e6), undefined);
  assert.equal(splicer.bracketing(1, 5e6), undefined);
  // The nearest stacks of a file read's samples were read_back's and spin's alike: both count
  // as its callers, and the nearest candidate is taken.
  for (let i = 0; i < 3; i++) {
    splicer.learn(1, 5e6, [1], 1, "_io__Buffered_read");
    splicer.learn(1, 5e6, [0], 1, "_io__Buffered_read");
  }
  assert.equal(splicer.choose([1, 0], "_io__Buffered_read"), 1);
  // One sample between two reads of read_back (at 1 ms) settles it.
  splicer.learn(1, 1e6, [0], 1, "_io__Buffered_read");
  assert.equal(splicer.choose([1, 0], "_io__Buffered_read"), 0);
});
