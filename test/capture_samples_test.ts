import assert from "node:assert/strict";
import { SampleLog } from "../src/capture/samples.ts";
import { PerfCollapser, type PerfOptions } from "../src/collapse/perf.ts";
import { repoPath } from "./helpers.ts";

const TEXT = Deno.readTextFileSync(repoPath("fixtures/capture/python313.perf.txt"));

/** Folds text through the perf collapser with a SampleLog's hooks, in chunks of `size`. */
function fold(text: string, raw: boolean, size = text.length, options: Partial<PerfOptions> = {}) {
  const log = new SampleLog(127);
  const collapser = new PerfCollapser({ ...options, ...log.hooks(raw) });
  for (let i = 0; i < text.length; i += size) collapser.push(text.slice(i, i + size));
  return { log, result: collapser.finish() };
}

Deno.test("samples: Python 3.13 stacks read from <module> to the C extension and the syscall", () => {
  const { log, result } = fold(TEXT, false);
  assert.equal(result.samples, 5);
  assert.equal(log.samples, 5);
  assert.deepEqual([...log.pids], [14247]);
  assert.ok(log.lastNs > log.firstNs);
  const stacks = [...result.stacks.keys()];
  assert.ok(
    stacks.includes(
      "python3.13;<module> (work.py);main (work.py);native_work (work.py);compress_blob (work.py);" +
        "zlib_compress;deflate;[libz.so.1.2.13]",
    ),
    stacks.join("\n"),
  );
  const io = stacks.find((s) => s.includes("write_file (work.py)"))!;
  assert.match(
    io,
    /^python3\.13;<module> \(work\.py\);main \(work\.py\);write_file \(work\.py\);_io_FileIO_write;_Py_write;__GI___libc_write;entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_write;vfs_write;/,
  );
  assert.ok(!stacks.some((s) => s.includes("py_trampoline_evaluator")), "glue is gone");
  assert.ok(!stacks.some((s) => /[\uE000-\uF8FF]/.test(s)), "no placeholder characters");
  const startup = stacks.find((s) => s.includes("Py_InitializeFromConfig"))!;
  assert.match(
    startup,
    /^python3\.13;_start;__libc_start_main@@GLIBC_2\.34;/,
    "no Python: unchanged",
  );
  assert.equal(log.stats.samples, 5);
  assert.equal(log.stats.rooted, 5);
  assert.equal(log.stats.pythonSamples, 4);
  assert.equal(log.stats.kernelSamples >= 1, true);
});

Deno.test("samples: --raw-frames keeps perf's frames; chunking never matters", () => {
  const raw = fold(TEXT, true).result;
  assert.ok([...raw.stacks.keys()].some((s) => s.includes("py::compress_blob:/home/u/work.py")));
  assert.ok([...raw.stacks.keys()].some((s) => s.includes("py_trampoline_evaluator")));
  const whole = fold(TEXT, false).result.stacks;
  for (const size of [1, 7, 100, 4096]) {
    const chunked = fold(TEXT, false, size);
    assert.deepEqual(chunked.result.stacks, whole, `chunks of ${size}`);
    assert.equal(chunked.log.samples, 5);
  }
  assert.equal(fold(TEXT.trimEnd(), false).log.samples, 5, "no blank line at the very end");
});

Deno.test("samples: V8 frames lose their tier marks", () => {
  const text = `node 9/9 1.000000: 1001001 cpu-clock:
\t    7f0b100042d6 JS:*fib /app/x.js:3:13 (/tmp/perf-9.map)
\t    7f0b100042d6 JS:~fib /app/x.js:3:13 (/tmp/perf-9.map)
\t    7f0b10004000 JS:~ node:internal/main/run_main_module:1:1 (/tmp/perf-9.map)
\t          b0e0e0 node::Start (/usr/bin/node)

`;
  const { result } = fold(text, false);
  assert.deepEqual([...result.stacks.keys()], [
    "node;node::Start;(anonymous) (node:internal/main/run_main_module:1);fib (x.js:3);fib (x.js:3)",
  ]);
});

Deno.test("samples: frames at new addresses fold as one; --addrs shows the addresses it needs", () => {
  // JIT code and interpreter leaves land on ever new addresses: the stacks stay the same.
  const moved = TEXT.replace(/^(\t *)([0-9a-f]+) /gm, (_, indent, a) => `${indent}1${a} `);
  const a = fold(TEXT, false);
  const b = fold(moved, false);
  assert.deepEqual(b.result.stacks, a.result.stacks);
  assert.deepEqual(b.log.stats, a.log.stats);
  const addrs = fold(TEXT, false, TEXT.length, { addrs: true }).result.stacks;
  assert.ok([...addrs.keys()].some((s) => s.includes("<5f7f>]")), [...addrs.keys()].join("\n"));
});

Deno.test("samples: the statistics count each distinct stack with its samples", () => {
  const again = TEXT.replaceAll(/ 14247\/(\d+) /g, " 14248/$1 ");
  const { log, result } = fold(TEXT + again, false);
  assert.equal(result.samples, 10);
  assert.deepEqual([...log.pids].sort(), [14247, 14248]);
  assert.equal(log.stats.samples, 10);
  assert.equal(log.stats.rooted, 10);
  assert.equal(log.stats.pythonSamples, 8);
});
