import assert from "node:assert/strict";
import { discoverPython } from "../src/python/discover.ts";
import { PythonReader, type PyThread } from "../src/python/reader.ts";
import { readThreadNames } from "../src/python/thread_names.ts";
import { LAYOUTS } from "../src/python/layouts.ts";
import { markedLines, pythons, qualified, startFixture } from "./python_helpers.ts";

const LINES = markedLines("stacks.py");

/**
 * Reads until the main thread is inside inner() and the worker inside sleeper() (either may
 * still be starting).
 */
function settledThreads(reader: PythonReader, pid: number): PyThread[] {
  for (let i = 0; i < 200; i++) {
    const threads = reader.threads({ lines: true });
    const main = threads.find((t) => t.tid === pid);
    const worker = threads.find((t) => t.tid !== pid);
    if (main?.frames.at(-1)?.name === "inner" && worker?.frames.at(-1)?.name === "sleeper") {
      return threads;
    }
  }
  throw new Error("the main thread never showed inner() and the worker sleeper()");
}

for (const python of pythons()) {
  Deno.test({
    name: `python reader ${python.label}: stacks, lines, entry frames, threads, GIL, names` +
      (python.missing ? ` (ignored: ${python.missing})` : ""),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "stacks.py");
      try {
        const target = discoverPython(program.pid);
        assert.equal(target.version.major, python.major);
        assert.equal(target.version.minor, python.minor);
        assert.equal(target.debugOffsets, python.major === 3 && python.minor >= 13);
        const reader = new PythonReader(target);
        try {
          const threads = settledThreads(reader, program.pid);
          assert.equal(threads.length, 2);
          const main = threads.find((t) => t.tid === program.pid)!;
          const worker = threads.find((t) => t !== main)!;

          // The main thread: <module> → outer → middle → inner, each at its marked line.
          assert.deepEqual(main.frames.map((f) => f.name), [
            "<module>",
            "outer",
            "middle",
            "inner",
          ]);
          for (const f of main.frames) {
            assert.match(f.file, /fixtures\/python\/stacks\.py$/);
            assert.equal(f.line, LINES.get(f.name), `${f.name}'s line`);
          }
          assert.equal(main.frames[3].firstLine, LINES.get("inner")! - 3, "inner's first line");
          // Entry frames: each frame is its own C call up to 3.10; from 3.11 Python-to-Python
          // calls stay in one evaluation loop, so only <module> starts one here.
          const modern = python.major === 3 && python.minor >= 11;
          assert.deepEqual(
            main.frames.map((f) => f.entry),
            modern ? [true, false, false, false] : [true, true, true, true],
          );

          // The worker thread: threading's bootstrap → Worker.run → sleeper.
          const names = worker.frames.map((f) => f.name);
          assert.deepEqual(names.slice(-2), [qualified(python, "Worker.run"), "sleeper"]);
          assert.match(worker.frames[0].name, /_bootstrap$/);
          assert.match(worker.frames[0].file, /threading\.py$/);
          assert.equal(worker.frames.at(-1)!.line, LINES.get("sleeper"));
          assert.ok(worker.frames[0].entry, "a thread's first frame starts an evaluation call");

          // OS thread ids: the main thread's is the pid; the worker's is another task of it.
          assert.ok(worker.tid !== undefined && worker.tid !== program.pid, `tid ${worker.tid}`);
          const tasks = [...Deno.readDirSync(`/proc/${program.pid}/task`)].map((e) =>
            Number(e.name)
          );
          assert.ok(tasks.includes(worker.tid!));

          // GIL and run state over a few reads: the spinning main thread holds the GIL in
          // most (2.7 and 3.6 let go of it every hundred bytecodes, and a loaded machine can
          // stop the thread right then), the sleeping worker never; main runs, the worker idles.
          let mainGil = 0;
          let workerGil = 0;
          let mainRunning = 0;
          let workerIdle = 0;
          let workerRunning = 0;
          for (let i = 0; i < 20; i++) {
            const ts = reader.threads();
            const m = ts.find((t) => t.tid === program.pid)!;
            const w = ts.find((t) => t.tid === worker.tid)!;
            if (m.gil) mainGil++;
            if (w.gil) workerGil++;
            if (m.state === "running") mainRunning++;
            if (w.state === "idle") workerIdle++;
            if (w.state === "running") workerRunning++;
          }
          assert.ok(mainGil >= 5, `main held the GIL in ${mainGil} of 20 reads`);
          assert.equal(workerGil, 0, "the sleeping worker never holds the GIL");
          assert.ok(mainRunning >= 10, `main was running in ${mainRunning} of 20 reads`);
          // (A loaded machine leaves some reads of the run state unknown: never "running".)
          assert.ok(workerRunning <= 1, `the worker was running in ${workerRunning} of 20 reads`);
          assert.ok(workerIdle >= 10, `the worker was idle in ${workerIdle} of 20 reads`);

          // Python's thread names, read from threading's registry.
          const byIdent = readThreadNames(reader);
          assert.equal(byIdent.get(main.ident), "MainThread");
          assert.equal(byIdent.get(worker.ident), "sleepy-worker");
        } finally {
          reader.close();
        }
      } finally {
        await program.stop();
      }
    },
  });
}

const py313 = pythons().find((p) => p.label === "3.13.0")!;
Deno.test({
  name: "python reader 3.13: the interpreter's own debug offsets agree with the generated table" +
    (py313.missing ? ` (ignored: ${py313.missing})` : ""),
  ignore: py313.missing !== undefined,
  async fn() {
    const program = await startFixture(py313, "stacks.py");
    try {
      const target = discoverPython(program.pid);
      target.memory.close();
      const table = LAYOUTS["3.13"];
      let compared = 0;
      for (const key of Object.keys(table)) {
        if (
          !key.startsWith("debug.") ||
          ["debug.cookie", "debug.version", "debug.size", "debug.free_threaded"].includes(key)
        ) continue;
        const field = key.slice(6) as keyof typeof table;
        if (table[field] === undefined) continue;
        assert.equal(target.layout[field], table[field], field);
        compared++;
      }
      assert.ok(compared >= 25, `compared ${compared} fields`);
    } finally {
      await program.stop();
    }
  },
});
