import assert from "node:assert/strict";
import { prepareSampler, samplePython, startSampler } from "../src/python/sampler.ts";
import { type SamplingResult, tickPeriodNs } from "../src/python/sampling.ts";
import { samplingToProfile } from "../src/python/profile.ts";
import { samplesForSplice } from "../src/python/splice_input.ts";
import { evaluationGroups } from "../src/capture/splice.ts";
import { monotonicNs } from "../src/python/clock.ts";
import {
  markedLines,
  type Python,
  pythons,
  settleStacks,
  startFixture,
  startProgram,
} from "./python_helpers.ts";
import { FlameError } from "../src/errors.ts";
import { descendants } from "../src/python/children.ts";
import { withTempDir } from "./helpers.ts";

const ALL = pythons();
const LINES = markedLines("stacks.py");
const available = ALL.filter((p) => !p.missing);
const missingNote = (p: Python) => (p.missing ? ` (ignored: ${p.missing})` : "");

/** The innermost frame names of the samples, per thread name. */
function leafNames(r: SamplingResult): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const s of r.samples) {
    const name = r.threads[s.thread].name ?? "?";
    const leaf = r.frames[r.stacks[s.stack].at(-1)!].name;
    if (!out.has(name)) out.set(name, new Set());
    out.get(name)!.add(leaf);
  }
  return out;
}

for (const python of ALL) {
  Deno.test({
    name: `python sampler ${python.label}: idle and GIL filters, names, monotonic times` +
      missingNote(python),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "stacks.py");
      try {
        await settleStacks(program.pid);
        const before = monotonicNs();
        // Default: running threads only. The sleeping worker is left out.
        const cpu = await samplePython({ pids: [program.pid], rate: 200, durationMs: 300 });
        const after = monotonicNs();
        assert.ok(cpu.samples.length >= 20, `${cpu.samples.length} samples`);
        // (The worker may be caught once waking up from its sleep, never more.)
        const sleepy = cpu.samples.filter((s) => cpu.threads[s.thread].name === "sleepy-worker");
        assert.ok(sleepy.length <= 2, `${sleepy.length} samples of the sleeping worker`);
        assert.ok(leafNames(cpu).get("MainThread")?.has("inner"));
        assert.ok(cpu.samples.every((s) => s.time >= before && s.time <= after));
        assert.ok(cpu.samples.every((s, i) => i === 0 || s.time >= cpu.samples[i - 1].time));
        assert.equal(cpu.processes[0].pid, program.pid);

        // Wall-clock view: the idle worker is sampled too, sleeping in sleeper().
        const wall = await samplePython({
          pids: [program.pid],
          rate: 200,
          durationMs: 400,
          idle: true,
        });
        const leaves = leafNames(wall);
        assert.deepEqual(leaves.get("sleepy-worker"), new Set(["sleeper"]));
        assert.ok(leaves.get("MainThread")!.has("inner"));

        // Only the GIL holder: the spinning main thread, never the sleeper.
        const gil = await samplePython({
          pids: [program.pid],
          rate: 200,
          durationMs: 300,
          idle: true,
          gil: true,
        });
        assert.ok(gil.samples.length > 0 && gil.samples.every((s) => s.gil));
        assert.ok(!leafNames(gil).has("sleepy-worker"));

        // The profile: python frames with files and lines, timeline and threads filled.
        const withLines = await samplePython({
          pids: [program.pid],
          rate: 200,
          durationMs: 300,
          lines: true,
        });
        const profile = samplingToProfile(withLines, { lines: true, roots: "thread" });
        const keys = [...profile.stacks.keys()];
        assert.ok(keys.length > 0);
        const innerName = `inner (stacks.py:${LINES.get("inner")})`;
        const inner = keys.find((k) => k.endsWith(innerName));
        assert.ok(inner, `a stack ending in ${innerName}: ${keys[0]}`);
        assert.match(inner!, /^MainThread-\d+\/\d+;<module> \(stacks\.py:\d+\);outer/);
        assert.deepEqual(profile.frames.get(innerName), {
          kind: "python",
          file: cpu.frames.find((f) => f.name === "inner")!.file,
          line: LINES.get("inner"),
        });
        assert.equal(profile.timeline?.stacks.length, withLines.samples.length);
        assert.equal(profile.threads?.[0].name, "MainThread");
        assert.equal(profile.meta.sampleRate, 200);
      } finally {
        await program.stop();
      }
    },
  });
}

for (const python of ALL) {
  Deno.test({
    name: `python sampler ${python.label}: short-lived request threads of a server, a target ` +
      `that exits, multiprocessing workers` + missingNote(python),
    ignore: python.missing !== undefined,
    async fn() {
      // Each request lives ~4 ms on a thread of its own: many different threads are caught.
      const server = await startFixture(python, "server.py", ["100000"]);
      try {
        const r = await samplePython({ pids: [server.pid], rate: 500, durationMs: 800 });
        const handlers = new Set<number>();
        for (const s of r.samples) {
          const names = r.stacks[s.stack].map((i) => r.frames[i].name);
          if (names.some((n) => n.endsWith("handle"))) handlers.add(r.threads[s.thread].tid!);
        }
        assert.ok(handlers.size >= 3, `request threads seen: ${handlers.size}`);
        assert.ok(!handlers.has(server.pid), "requests run on their own threads");
      } finally {
        await server.stop();
      }

      // A target that exits mid-sampling keeps its samples, and sampling ends with it. (It
      // runs 2 s: under deno test the worker first compiles its modules.)
      const exiting = await startFixture(python, "exits.py", ["1.5"]);
      const r = await samplePython({ pids: [exiting.pid], rate: 200, durationMs: 10_000 });
      await exiting.done();
      assert.ok(r.samples.length >= 20, `${r.samples.length} samples kept`);
      assert.ok(r.processes[0].exitedNs !== undefined, "the exit is recorded");
      assert.equal(r.dropped.exited, 1);
      assert.ok(r.endNs - r.startNs < 4e9, "sampling ended when the process did");
      const leaves = new Set(r.samples.map((s) => r.frames[r.stacks[s.stack].at(-1)!].name));
      assert.ok(leaves.has("busy"));

      // multiprocessing workers are followed, one root per process in the profile.
      const pool = await startFixture(python, "pool.py", ["1.2"], { quiet: true });
      try {
        const r = await samplePython({
          pids: [pool.pid],
          rate: 100,
          durationMs: 700,
          subprocesses: true,
        });
        const workers = r.processes.filter((p) => p.parent !== undefined);
        assert.ok(workers.length >= 2, `followed ${workers.length} workers`);
        const workPids = new Set<number>();
        for (const s of r.samples) {
          const names = r.stacks[s.stack].map((i) => r.frames[i].name);
          if (names.at(-1) === "work") workPids.add(r.threads[s.thread].pid);
        }
        assert.ok(workPids.size >= 2, `work() seen in ${workPids.size} processes`);
        assert.ok(!workPids.has(pool.pid));
        const profile = samplingToProfile(r);
        const roots = new Set([...profile.stacks.keys()].map((k) => k.split(";")[0]));
        assert.ok(roots.size >= 2, `one root per process: ${[...roots].join(", ")}`);
      } finally {
        await pool.stop();
      }
    },
  });
}

const py = available.find((p) => p.label === "3.12.1") ?? available.at(-1);

Deno.test({
  name: "python sampler: a shell script's python is followed" +
    (py ? "" : " (ignored: no Python installed)"),
  ignore: py === undefined,
  async fn() {
    // The shell is not Python: it is watched, and the python it starts is sampled.
    const shell = await startProgram("/bin/sh", [
      "-c",
      `echo ready; exec 1>/dev/null; "${py!.exe}" "$0" 2.0; true`,
      new URL("../fixtures/python/exits.py", import.meta.url).pathname,
    ]);
    try {
      const r = await samplePython({
        pids: [shell.pid],
        rate: 100,
        durationMs: 1500,
        subprocesses: true,
      });
      assert.ok(r.processes.length >= 1 && r.processes.every((p) => p.pid !== shell.pid));
      assert.ok(r.samples.some((s) => r.frames[r.stacks[s.stack].at(-1)!].name === "busy"));
    } finally {
      await shell.stop();
    }
  },
});

Deno.test({
  name: "python sampler: the embedded worker bundle (dist/flame's) samples and stops on request" +
    (py ? "" : " (ignored: no Python installed)"),
  ignore: py === undefined,
  async fn() {
    const program = await startFixture(py!, "stacks.py");
    try {
      const handle = startSampler({ pids: [program.pid], rate: 100 }, { code: "embedded" });
      await new Promise((r) => setTimeout(r, 500));
      const t0 = performance.now();
      handle.stop();
      const r = await handle.result;
      assert.ok(performance.now() - t0 < 1000, "stops promptly");
      assert.ok(r.samples.length >= 10, `${r.samples.length} samples`);
    } finally {
      await program.stop();
    }
  },
});

Deno.test("python sampler: a process that is not Python is one clear error", async () => {
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    await assert.rejects(
      samplePython({ pids: [sleeper.pid], rate: 100, durationMs: 200 }),
      (err: unknown) => err instanceof FlameError && /is not a Python process/.test(err.message),
    );
  } finally {
    sleeper.kill();
    await sleeper.status;
  }
});

/** True when perf can record here (installed, permitted). */
function perfRecords(): string | undefined {
  try {
    const out = new Deno.Command("perf", {
      args: ["record", "-q", "-e", "cpu-clock", "-o", "/dev/null", "--", "true"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success ? undefined : "perf cannot record here";
  } catch {
    return "perf is not installed";
  }
}
const noPerf = perfRecords();

Deno.test({
  name: "python sampler: sample times are on perf's -k CLOCK_MONOTONIC clock" +
    (py === undefined ? " (ignored: no Python installed)" : noPerf ? ` (ignored: ${noPerf})` : ""),
  ignore: py === undefined || noPerf !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const data = `${dir}/perf.data`;
      const perf = await startProgram("perf", [
        "record",
        "-q",
        "-k",
        "CLOCK_MONOTONIC",
        "-e",
        "cpu-clock",
        "-F",
        "199",
        "-o",
        data,
        "--",
        py!.exe,
        new URL("../fixtures/python/exits.py", import.meta.url).pathname,
        // Long enough for the worker to start (it compiles its modules first under deno test).
        "2.5",
      ]);
      const [python] = descendants([perf.pid]);
      const r = await samplePython({ pids: [python], rate: 200, durationMs: 5000 });
      await perf.done();
      const script = await new Deno.Command("perf", {
        args: ["script", "-i", data, "-F", "time"],
        stdout: "piped",
        stderr: "null",
      }).output();
      const times = new TextDecoder().decode(script.stdout).split("\n")
        .map((l) => parseFloat(l))
        .filter((t) => Number.isFinite(t));
      assert.ok(times.length > 20 && r.samples.length > 20);
      const first = Math.min(...times);
      const last = Math.max(...times);
      const ours = r.samples.map((s) => s.time / 1e9);
      assert.ok(
        ours.every((t) => t >= first - 0.05 && t <= last + 0.05),
        `ours ${Math.min(...ours)}..${Math.max(...ours)} s, perf ${first}..${last} s`,
      );
      assert.ok(last - Math.max(...ours) < 0.2, "both saw the program until its end");
    });
  },
});

Deno.test({
  name: "python sampler: samples for the perf splice carry labels, entry marks, times and TIDs" +
    (py ? "" : " (ignored: no Python installed)"),
  ignore: py === undefined,
  async fn() {
    const program = await startFixture(py!, "stacks.py");
    try {
      const r = await samplePython({ pids: [program.pid], rate: 200, durationMs: 300 });
      const input = samplesForSplice(r);
      // The period, or more where ticks were skipped.
      assert.equal(input.periodNs, tickPeriodNs(r));
      assert.ok(input.periodNs >= 5e6);
      assert.equal(input.samples.length, r.samples.length);
      const s = input.samples.find((x) => x.tid === program.pid)!;
      const stack = input.stacks[s.stack];
      assert.deepEqual(stack.map((f) => f.label), [
        "<module> (stacks.py)",
        "outer (stacks.py)",
        "middle (stacks.py)",
        "inner (stacks.py)",
      ]);
      assert.equal(stack[0].entry, true);
      // The splice's own reader of these: one perf evaluation call per group.
      const groups = evaluationGroups(stack);
      assert.equal(groups.length, stack.filter((f, i) => i === 0 || f.entry).length);
    } finally {
      await program.stop();
    }
  },
});

/** This process's CPU time so far, seconds (user and system, from /proc/self/stat). */
function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

Deno.test({
  name: "python sampler: maxCpuShare keeps the sampler within its share of a CPU",
  ignore: !available.some((p) => p.label === "3.11.7"),
  async fn() {
    const python = available.find((p) => p.label === "3.11.7")!;
    const program = await startFixture(python, "stacks.py");
    try {
      // The worker loads (and, run from source, compiles) first: that is not sampling.
      const sampler = prepareSampler();
      await new Promise((r) => setTimeout(r, 2000));
      const cpu = cpuSeconds();
      const start = performance.now();
      const r = await sampler.start({
        pids: [program.pid],
        rate: 5000,
        durationMs: 1500,
        idle: true,
        maxCpuShare: 0.1,
        quietWhenBehind: true,
      }).result;
      const share = (cpuSeconds() - cpu) / ((performance.now() - start) / 1000);
      // 5,000 ticks a second cannot be read in a tenth of a CPU: most are missed instead.
      assert.ok(r.missedTicks > r.ticks, `${r.ticks} ticks, ${r.missedTicks} missed`);
      assert.ok(r.samples.length > 0);
      assert.ok(share < 0.3, `the sampler used ${(100 * share).toFixed(0)}% of a CPU`);
    } finally {
      await program.stop();
    }
  },
});

Deno.test("python sampler: a sample stands for more time where ticks were skipped", () => {
  const run = (ticks: number, missedTicks: number) =>
    tickPeriodNs({ rate: 100, ticks, missedTicks } as SamplingResult);
  assert.equal(run(100, 0), 10e6);
  // Half the ticks skipped: each one taken stood for two periods.
  assert.equal(run(50, 50), 20e6);
  assert.equal(run(0, 0), 10e6);
});
