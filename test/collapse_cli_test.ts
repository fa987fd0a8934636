import assert from "node:assert/strict";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";
import { SampleLog } from "../src/capture/samples.ts";
import { PerfCollapser, type PerfOptions } from "../src/collapse/perf.ts";
import { formatCount, sortedStacks } from "../src/folded/stacks.ts";

/** Folds `path` in this process as the capture commands (run, record, report) fold perf script. */
function foldAsReport(path: string, raw: boolean, options: Partial<PerfOptions> = {}): string {
  const collapser = new PerfCollapser({ ...options, ...new SampleLog(127).hooks(raw) });
  collapser.push(Deno.readTextFileSync(path));
  return sortedStacks(collapser.finish().stacks).map(([s, n]) => `${s} ${formatCount(n)}\n`)
    .join("");
}

const C_FP = repoPath("fixtures/perf/c-fp.perf.txt");
const SAMPLE = "prog 1234 100.000001:    1000 cpu-clock: \n\t401200 leaf+0x5 (/usr/bin/prog)\n" +
  "\t401000 main+0x10 (/usr/bin/prog)\n\n";

/** The stack lines are sorted, each `stack COUNT`. */
function assertFolded(text: string): void {
  const lines = text.trimEnd().split("\n");
  assert.ok(lines.length > 0 && lines[0] !== "");
  for (const line of lines) assert.match(line, /^\S.* \d+(\.\d+)?$/);
  const sorted = [...lines].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.deepEqual(lines, sorted);
}

Deno.test("collapse --help: usage, every option, examples", async () => {
  const r = await runFlame(["collapse", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: flame collapse /m);
  assert.match(r.stdout, /^Examples:$/m);
  for (
    const option of [
      "--pid",
      "--tid",
      "--kernel",
      "--jit",
      "--all",
      "--addrs",
      "--event-filter=EVENT",
      "--inline",
      "--context",
      "--srcline",
      "--includeoffset",
      "--js-frames",
      "--raw-frames",
      "-o, --output FILE",
    ]
  ) {
    assert.ok(r.stdout.includes(`  ${option} `), option);
  }
});

Deno.test("collapse perf FILE: folded stacks on stdout, nothing on stderr", async () => {
  const r = await runFlame(["collapse", "perf", C_FP]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assertFolded(r.stdout);
  assert.match(r.stdout, /^prog;__libc_start_call_main;main;mid_a;leaf_compute \d+$/m);
});

Deno.test("collapse: perf options reach the collapser", async () => {
  const r = await runFlame(["collapse", "perf", "--tid", "--all", "--addrs", C_FP]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^prog-\?\/\d+;__libc_start_call_main;main;/m);
  assert.match(r.stdout, /;do_syscall_64_\[k\]/);
  const events = await runFlame(["collapse", "--event-filter=cycles", C_FP]);
  assert.equal(events.code, 0);
  assert.equal(events.stdout, "");
  assert.match(events.stderr, /warning: .*no samples of event 'cycles'; the input has cpu-clock/);
});

Deno.test("collapse: stdin, '-', auto-detection; the same result as naming the format", async () => {
  const text = await Deno.readTextFile(C_FP);
  const named = await runFlame(["collapse", "perf", C_FP]);
  const piped = await runFlame(["collapse"], { stdin: text });
  const dash = await runFlame(["collapse", "-"], { stdin: text });
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdout, named.stdout);
  assert.equal(dash.stdout, named.stdout);
});

Deno.test("collapse -o FILE writes the file, and leaves an old one alone on error", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out.folded`;
    const r = await runFlame(["collapse", C_FP, "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assertFolded(await Deno.readTextFile(out));
    await Deno.writeTextFile(out, "old\n");
    const bad = await runFlame(["collapse", "perf", "-o", out], { stdin: "not perf at all\n" });
    assert.equal(bad.code, 1);
    assert.equal(await Deno.readTextFile(out), "old\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["out.folded"]);
  });
});

Deno.test("collapse dtrace, and DTrace found by itself", async () => {
  const file = repoPath("fixtures/dtrace/c-workload.txt");
  const expected = await Deno.readTextFile(repoPath("fixtures/dtrace/c-workload.folded"));
  const named = await runFlame(["collapse", "dtrace", file]);
  assert.equal(named.code, 0, named.stderr);
  assert.equal(named.stdout, expected);
  const found = await runFlame(["collapse", file]);
  assert.equal(found.stdout, expected);
  const offsets = await runFlame(["collapse", "dtrace", "--includeoffset", file]);
  const expectedOffsets = repoPath("fixtures/dtrace/c-workload.offsets.folded");
  assert.equal(offsets.stdout, await Deno.readTextFile(expectedOffsets));
});

Deno.test("collapse: folded input is merged and sorted", async () => {
  const r = await runFlame(["collapse"], { stdin: "b;c 2\na 1\nb;c 3\n" });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "a 1\nb;c 5\n");
});

Deno.test("collapse: usage errors exit 2 with a hint", async () => {
  for (
    const args of [
      ["collapse", "--bogus"],
      ["collapse", "dtrace", "--pid", C_FP],
      ["collapse", "perf", "--includeoffset", C_FP],
      ["collapse", C_FP, C_FP],
    ]
  ) {
    const r = await runFlame(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^flame: error: collapse: .*\n {2}hint: /, args.join(" "));
  }
});

Deno.test("collapse: input that is not perf script: exit 1, one line naming the file", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/notes.txt`;
    await Deno.writeTextFile(file, "# my notes\nbuy milk\ncall Bob\n");
    const r = await runFlame(["collapse", "perf", file]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `flame: error: ${file}: does not look like 'perf script' output (line 2: "buy milk")\n`,
    );
    const auto = await runFlame(["collapse", file]);
    assert.equal(auto.code, 1);
    assert.match(auto.stderr, /^flame: error: .*notes\.txt: cannot tell the input format/);
    assert.equal(auto.stderr.split("\n").length, 2);
  });
});

Deno.test("collapse: a missing file: exit 1, one line naming it", async () => {
  const r = await runFlame(["collapse", "perf", "/no/such/perf.txt"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "flame: error: /no/such/perf.txt: no such file or directory\n");
});

Deno.test("collapse: empty input: empty output, exit 0, a warning", async () => {
  for (const args of [["collapse", "perf"], ["collapse"]]) {
    const r = await runFlame(args, { stdin: "" });
    assert.equal(r.code, 0, args.join(" "));
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^flame: warning: <stdin>: no samples in the input/);
  }
  const quiet = await runFlame(["collapse", "perf", "-q"], { stdin: "" });
  assert.equal(quiet.stderr, "");
});

Deno.test("collapse: truncated input folds what came before, and says so", async () => {
  const text = SAMPLE + SAMPLE.slice(0, SAMPLE.length - 20);
  const r = await runFlame(["collapse", "perf"], { stdin: text });
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "prog;main;leaf 1000\n");
  assert.match(r.stderr, /warning: <stdin>: the input ends inside a sample .*dropped/);
});

Deno.test("collapse: invalid UTF-8, CRLF and binary noise never crash", async () => {
  const bytes = new TextEncoder().encode(SAMPLE.replace("leaf", "le\u00e9f"));
  const broken = bytes.map((b) => (b === 0xa9 ? 0xff : b)); // é's second byte made invalid
  const r = await runFlame(["collapse", "perf"], { stdin: broken });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "prog;main;le\ufffd\ufffdf 1000\n");
  const crlf = await runFlame(["collapse", "perf"], { stdin: SAMPLE.replaceAll("\n", "\r\n") });
  assert.equal(crlf.stdout, "prog;main;leaf 1000\n");
  const noise = new Uint8Array(300_000);
  let seed = 1;
  for (let i = 0; i < noise.length; i++) noise[i] = (seed = (seed * 48271) % 2147483647) & 0xff;
  // Noise after a text start (more than the head that is looked at): what can be read is.
  const text = new TextEncoder().encode(SAMPLE.repeat(100));
  const mixed = new Uint8Array([...text, ...noise]);
  const n = await runFlame(["collapse", "perf"], { stdin: mixed });
  assert.ok(n.code === 0 || n.code === 1, `exit ${n.code}: ${n.stderr}`);
  assert.doesNotMatch(n.stderr, /internal error|at .*\.ts:\d+/);
  assert.match(n.stdout, /^prog;main;leaf 100000$/m);
  // Noise from the start is binary data: one line, naming the input.
  await withTempDir(async (dir) => {
    Deno.writeFileSync(
      `${dir}/noise`,
      new Uint8Array([...new TextEncoder().encode(SAMPLE), ...noise]),
    );
    const b = await runFlame(["collapse", "perf", `${dir}/noise`]);
    assert.equal(b.code, 1);
    assert.equal(
      b.stderr,
      `flame: error: ${dir}/noise: looks like binary data (it has NUL bytes), not UTF-8 text\n`,
    );
  });
});

Deno.test("collapse perf: Python frames as 'flame report' gives them; JS with --js-frames", async () => {
  const python = repoPath("fixtures/perf/python313-perfjit.perf.txt");
  const node = repoPath("fixtures/perf/node-basic-prof.perf.txt");
  const byDefault = await runFlame(["collapse", "perf", python]);
  assert.equal(byDefault.code, 0, byDefault.stderr);
  assert.equal(byDefault.stdout, foldAsReport(python, false));
  assert.match(byDefault.stdout, /;inner_loop \(work\.py\)[; ]/);
  assert.doesNotMatch(byDefault.stdout, /py::|\(work\.py\);py_trampoline_evaluator/);
  const raw = await runFlame(["collapse", "perf", "--raw-frames", "--all", python]);
  assert.equal(raw.stdout, foldAsReport(python, true, { kernel: true, jit: true }));
  assert.match(raw.stdout, /;py::inner_loop:\/tmp\/flame-fixtures\/work\.py_\[j\][; ]/);
  // V8's names are stackcollapse-perf.pl's output: kept unless asked.
  const js = await runFlame(["collapse", node]);
  assert.match(js.stdout, /;JS:~fib \/tmp\/flame-fixtures\/work\.js:\d+:\d+[; ]/);
  assert.equal(js.stdout, (await runFlame(["collapse", "--raw-frames", node])).stdout);
  const readable = await runFlame(["collapse", "--js-frames", "--tid", node]);
  assert.equal(readable.stdout, foldAsReport(node, false, { tid: true }));
  assert.match(readable.stdout, /;fib \(work\.js:\d+\);fib \(work\.js:\d+\)/);
  const both = await runFlame(["collapse", "--js-frames", "--raw-frames", node]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--raw-frames and --js-frames contradict each other/);
});
