/**
 * The text formats as profile readers: perf script (kinds and modules from perf's DSO column,
 * nanoseconds from clock periods), DTrace, folded stacks, py-spy's raw output and CPython's
 * collapsed stacks, each on real files.
 */
import assert from "node:assert/strict";
import { describeFrameName } from "../src/formats/frames.ts";
import { formatInputFrom } from "../src/formats/input.ts";
import { readFormatInput, readProfile } from "../src/formats/registry.ts";
import { totalWeight } from "../src/profile/profile.ts";
import { repoPath, withTempDir } from "./helpers.ts";

/** The sum of the sample periods in perf script text (`  2004008 cpu-clock:` headers). */
function periodTotal(path: string): number {
  let sum = 0;
  for (const m of Deno.readTextFileSync(path).matchAll(/ (\d+) cpu-clock:/g)) sum += Number(m[1]);
  return sum;
}

/** The sum of the counts of a folded file, by the last number on each line. */
function foldedTotal(path: string): number {
  let sum = 0;
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const m = / (\d+(?:\.\d+)?)$/.exec(line);
    if (m) sum += Number(m[1]);
  }
  return sum;
}

Deno.test("perf script: frames get kernel/native kinds and modules; cpu-clock periods are ns", async () => {
  const { profile, format } = await readProfile(repoPath("fixtures/perf/c-fp.perf.txt"));
  assert.equal(format, "perf");
  assert.equal(profile.unit, "nanoseconds");
  assert.equal(profile.meta.sampleRate, Math.round(1e9 / 2004008));
  assert.ok(profile.meta.durationNs! > 0);
  assert.equal(totalWeight(profile.stacks), periodTotal(repoPath("fixtures/perf/c-fp.perf.txt")));
  assert.deepEqual(profile.frames.get("leaf_compute"), {
    kind: "native",
    module: "/tmp/flame-fixtures/prog",
  });
  const kernel = [...profile.frames].filter(([, i]) => i.kind === "kernel").map(([n]) => n);
  assert.ok(kernel.includes("vfs_write"), kernel.join(","));
});

Deno.test("perf script: the unit follows the event, modifiers and all", async () => {
  const text = Deno.readTextFileSync(repoPath("fixtures/perf/c-fp.perf.txt"));
  await withTempDir(async (dir) => {
    for (
      const [event, unit] of [
        ["cpu-clock:pppH", "nanoseconds"],
        ["task-clock:u", "nanoseconds"],
        ["cycles:u", "samples"],
        ["sched:sched_switch", "samples"],
      ]
    ) {
      const path = `${dir}/${event.replaceAll(":", "_")}.txt`;
      Deno.writeTextFileSync(path, text.replaceAll(" cpu-clock:", ` ${event}:`));
      assert.equal((await readProfile(path)).profile.unit, unit, event);
    }
  });
});

Deno.test("perf script: a second event in the input leaves the first one's unit", async () => {
  // Each sample of c-fp followed by a page-faults sample of the same stack: the collapser keeps
  // the first event seen (cpu-clock), so the weights stay nanoseconds, the rate its period's.
  const text = Deno.readTextFileSync(repoPath("fixtures/perf/c-fp.perf.txt"));
  const blocks = text.split("\n\n").filter((b) => b.trim() !== "");
  const faults = blocks.map((b) => b.replace(/\s2004008 cpu-clock:/, " 3 page-faults:"));
  await withTempDir(async (dir) => {
    const path = `${dir}/mixed.perf.txt`;
    Deno.writeTextFileSync(path, blocks.map((b, i) => `${b}\n\n${faults[i]}\n\n`).join(""));
    const { profile } = await readProfile(path);
    assert.equal(profile.unit, "nanoseconds");
    assert.equal(profile.meta.sampleRate, Math.round(1e9 / 2004008));
    assert.equal(totalWeight(profile.stacks), periodTotal(repoPath("fixtures/perf/c-fp.perf.txt")));
  });
});

Deno.test("perf script: V8 and Python perf-map frames are js and python", async () => {
  const node = (await readProfile(repoPath("fixtures/perf/node-basic-prof.perf.txt"))).profile;
  assert.ok([...node.frames.values()].some((i) => i.kind === "js" || i.kind === "jit"));
  const py = (await readProfile(repoPath("fixtures/perf/python313-perfjit.perf.txt"))).profile;
  assert.ok([...py.frames.values()].some((i) => i.kind === "python"));
});

Deno.test("DTrace: read through the DTrace collapser, totals as its folded output", async () => {
  const { profile, format } = await readProfile(repoPath("fixtures/dtrace/c-workload.txt"));
  assert.equal(format, "dtrace");
  assert.equal(profile.unit, "samples");
  assert.equal(
    totalWeight(profile.stacks),
    foldedTotal(repoPath("fixtures/dtrace/c-workload.folded")),
  );
});

Deno.test("folded: merged, kinds from the names", async () => {
  const { profile, format } = await readProfile(
    repoPath("fixtures/folded/python313-perfjit.folded"),
  );
  assert.equal(format, "folded");
  assert.equal(
    totalWeight(profile.stacks),
    foldedTotal(repoPath("fixtures/folded/python313-perfjit.folded")),
  );
  assert.ok([...profile.frames.values()].some((i) => i.kind === "python"));
});

Deno.test("py-spy raw: python frames with file and line; the empty-stack sample counted", async () => {
  const path = repoPath("fixtures/formats/pyspy.raw.txt");
  const { profile, format } = await readProfile(path);
  assert.equal(format, "pyspy-raw");
  assert.equal(totalWeight(profile.stacks), foldedTotal(path));
  const shared = [...profile.frames].find(([n]) => /^shared \(prog\.py:\d+\)$/.test(n));
  assert.ok(shared);
  assert.equal(shared[1].kind, "python");
  assert.equal(shared[1].file, "prog.py");
  assert.ok(shared[1].line! > 0);
});

Deno.test("CPython collapsed: frames renamed to func (file.py:line), threads as roots", async () => {
  const path = repoPath("fixtures/formats/cpython-collapsed.txt");
  const { profile, format } = await readProfile(path);
  assert.equal(format, "cpython-collapsed");
  assert.equal(totalWeight(profile.stacks), 61);
  assert.equal(
    profile.stacks.get(
      "tid:140245;<module> (prog.py:52);main (prog.py:45);heavy (prog.py:30);shared (prog.py:21)",
    ),
    40,
  );
  assert.deepEqual(profile.frames.get("heavy (prog.py:30)"), {
    kind: "python",
    file: "prog.py",
    line: 30,
  });
  assert.equal(profile.frames.get("tid:140250")?.kind, "root");
  assert.ok(profile.stacks.has("tid:140245;<module> (prog.py:52);main (prog.py:47);<native>"));
});

Deno.test("frame names: what each kind of name says", () => {
  assert.deepEqual(describeFrameName("vfs_write_[k]"), { kind: "kernel" });
  assert.deepEqual(describeFrameName("fib_[j]"), { kind: "jit" });
  assert.deepEqual(describeFrameName("JS:*fib /app/x.js:3:13_[j]"), { kind: "js" });
  assert.deepEqual(describeFrameName("fib /app/x.js:3:13_[j]"), {
    kind: "js",
    file: "/app/x.js",
    line: 3,
  });
  assert.deepEqual(describeFrameName("py::fib:/app/x.py"), { kind: "python", file: "/app/x.py" });
  assert.deepEqual(describeFrameName("run (<frozen runpy>:88)"), {
    kind: "python",
    file: "<frozen runpy>",
    line: 88,
  });
  assert.deepEqual(describeFrameName("fib /app/x.js:3:13"), {
    kind: "js",
    file: "/app/x.js",
    line: 3,
  });
  // As flame's own captures name V8's frames (folded files of flame report read back).
  assert.deepEqual(describeFrameName("fib (x.js:3)"), { kind: "js", file: "x.js", line: 3 });
  assert.deepEqual(describeFrameName("(anonymous) (node:internal/main/run_main_module:1)"), {
    kind: "js",
    file: "node:internal/main/run_main_module",
    line: 1,
  });
  assert.deepEqual(describeFrameName("main"), { kind: "unknown" });
  assert.deepEqual(describeFrameName("operator() (int)"), { kind: "unknown" });
});

Deno.test("text inputs: gzipped perf script is read as perf script", async () => {
  const text = Deno.readFileSync(repoPath("fixtures/perf/c-fp.perf.txt"));
  const gz = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  const input = await formatInputFrom({ name: "perf.txt.gz", readable: gz });
  const { profile, format } = await readFormatInput(input);
  assert.equal(format, "perf");
  assert.equal(totalWeight(profile.stacks), periodTotal(repoPath("fixtures/perf/c-fp.perf.txt")));
});
