import assert from "node:assert/strict";
import { restoreNames, SampleStream } from "../src/capture/samples.ts";
import { PerfCollapser } from "../src/collapse/perf.ts";
import { repoPath } from "./helpers.ts";

const TEXT = Deno.readTextFileSync(repoPath("fixtures/capture/python313.perf.txt"));

/** Folds text through a SampleStream and the perf collapser, in chunks of `size`. */
function fold(text: string, rewrite: boolean, size = text.length) {
  const stream = new SampleStream(rewrite, 127);
  const collapser = new PerfCollapser({});
  for (let i = 0; i < text.length; i += size) {
    const out = stream.push(text.slice(i, i + size));
    if (out) collapser.push(out);
  }
  const last = stream.end();
  if (last) collapser.push(last);
  const result = collapser.finish();
  restoreNames(result.stacks);
  return { stream, result };
}

Deno.test("samples: Python 3.13 stacks read from <module> to the C extension and the syscall", () => {
  const { stream, result } = fold(TEXT, true);
  assert.equal(result.samples, 5);
  assert.equal(stream.samples, 5);
  assert.deepEqual([...stream.pids], [14247]);
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
  const startup = stacks.find((s) => s.includes("Py_InitializeFromConfig"))!;
  assert.match(
    startup,
    /^python3\.13;_start;__libc_start_main@@GLIBC_2\.34;/,
    "no Python: unchanged",
  );
  assert.equal(stream.stats.samples, 5);
  assert.equal(stream.stats.rooted, 5);
  assert.equal(stream.stats.pythonSamples, 4);
  assert.equal(stream.stats.kernelSamples >= 1, true);
});

Deno.test("samples: --raw-frames keeps perf's frames; chunking never matters", () => {
  const raw = fold(TEXT, false).result;
  assert.ok([...raw.stacks.keys()].some((s) => s.includes("py::compress_blob:/home/u/work.py")));
  assert.ok([...raw.stacks.keys()].some((s) => s.includes("py_trampoline_evaluator")));
  const whole = fold(TEXT, true).result.stacks;
  for (const size of [1, 7, 100, 4096]) {
    const chunked = fold(TEXT, true, size);
    assert.deepEqual(chunked.result.stacks, whole, `chunks of ${size}`);
    assert.equal(chunked.stream.samples, 5);
  }
  assert.equal(fold(TEXT.trimEnd(), true).stream.samples, 5, "no blank line at the very end");
});

Deno.test("samples: V8 frames lose their tier marks", () => {
  const text = `node 9/9 1.000000: 1001001 cpu-clock:
\t    7f0b100042d6 JS:*fib /app/x.js:3:13 (/tmp/perf-9.map)
\t    7f0b100042d6 JS:~fib /app/x.js:3:13 (/tmp/perf-9.map)
\t    7f0b10004000 JS:~ node:internal/main/run_main_module:1:1 (/tmp/perf-9.map)
\t          b0e0e0 node::Start (/usr/bin/node)

`;
  const { result } = fold(text, true);
  assert.deepEqual([...result.stacks.keys()], [
    "node;node::Start;(anonymous) node:internal/main/run_main_module:1:1;fib /app/x.js:3:13;fib /app/x.js:3:13",
  ]);
});

Deno.test("samples: addresses are dropped unless --addrs needs them; the stacks are the same", () => {
  const stream = new SampleStream(true, 127);
  const out = stream.push(TEXT) + stream.end();
  assert.doesNotMatch(out, /^\t\s*[0-9a-f]{2,} /m, "every address is 0");
  const keep = new SampleStream(true, 127, new Set(), true);
  assert.match(keep.push(TEXT) + keep.end(), /^\t\s*5f7f \[unknown\] \(/m);
  const a = new PerfCollapser({});
  a.push(out);
  const b = fold(TEXT, true).result;
  const folded = a.finish();
  restoreNames(folded.stacks);
  assert.deepEqual(folded.stacks, b.stacks);
});
