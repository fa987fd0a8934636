/**
 * The splice end to end through dist/flame with the real perf: one stack from `<module>` down
 * to the system call, for CPython launched (`flame run`) and attached to (`flame record -p`),
 * however the program ends, and for threads shorter than perf's sampling period.
 * fixtures/capture/mixed.py: <module> → main → work → compress (zlib) / encode (json) /
 * read_back (read system calls) / spin.
 */
import assert from "node:assert/strict";
import { flameArgv, repoPath, runFlame, withTempDir } from "./helpers.ts";
import { fixture, type Python, pythons, startProgram } from "./python_helpers.ts";
import { foldedLines, spliceShares } from "./splice_helpers.ts";

const MIXED = repoPath("fixtures/capture/mixed.py");

function which(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
}

/** Why perf cannot record here, if so. */
const NO_PERF = !which("perf") ? "perf is not installed" : Deno.uid() !== 0 &&
    Number(Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid").trim()) > 1
  ? "not root and kernel.perf_event_paranoid > 1"
  : undefined;

const ALL = pythons();
const byLabel = (label: string) => ALL.find((p) => p.label === label)!;

/** Why a test with `python` cannot run here, if so. */
function reason(python: Python): string | undefined {
  return NO_PERF ?? python.missing;
}

function splicedTest(name: string, python: Python, fn: (dir: string) => Promise<void>): void {
  const why = reason(python);
  Deno.test({
    name: `splice ${python.label}: ${name}${why ? ` (ignored: ${why})` : ""}`,
    ignore: why !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => withTempDir(fn),
  });
}

/**
 * Checks a mixed.py profile: whole Python chains, zlib above compress, kernel frames. `stderr`,
 * flame's messages, goes with a failure (the splice's summary line says what it kept native).
 */
function assertSpliced(text: string, label: string, stderr: string): void {
  const s = spliceShares(text);
  label = `${label} (${Math.round(s.python / 1e6)} ms in Python; flame said: ${
    stderr.trim().replaceAll("\n", " | ")
  })`;
  assert.ok(s.python > 0, `${label}: no Python samples`);
  const whole = s.whole / s.python;
  assert.ok(whole >= 0.95, `${label}: ${Math.round(100 * whole)}% whole Python chains`);
  const zlib = s.compressNative / s.compress;
  assert.ok(zlib >= 0.9, `${label}: zlib above compress in ${Math.round(100 * zlib)}%`);
  assert.ok(s.readKernel > 0, `${label}: kernel frames under read_back`);
  // Native frames sit under the Python function that called them.
  const misplaced = s.misplaced / s.placed;
  assert.ok(misplaced <= 0.1, `${label}: ${Math.round(100 * misplaced)}% under another function`);
}

for (const label of ["3.11.7", "3.12.1", "3.13.0"]) {
  const python = byLabel(label);
  splicedTest("launched: whole chains with native and kernel frames", python, async (dir) => {
    const r = await runFlame(
      ["run", "-o", `${dir}/run.folded`, "--", python.exe, MIXED, "3", `${dir}/s`],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Python frames from the interpreter spliced into \d+%/);
    assert.doesNotMatch(r.stderr, /no Python function names/);
    assertSpliced(Deno.readTextFileSync(`${dir}/run.folded`), "launched", r.stderr);
    // No perf support was switched on: no perf map or jitdump was written for it.
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /^(jit-|perf-)/.test(n)),
      [],
    );
  });

  splicedTest("attached: whole chains with native and kernel frames", python, async (dir) => {
    const program = await startProgram(python.exe, [MIXED, "0", `${dir}/s`]);
    try {
      const r = await runFlame([
        "record",
        "-p",
        String(program.pid),
        "-d",
        "2",
        "-o",
        `${dir}/rec.folded`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assertSpliced(Deno.readTextFileSync(`${dir}/rec.folded`), "attached", r.stderr);
    } finally {
      await program.stop();
    }
  });
}

const PY313 = byLabel("3.13.0");

/** Starts `flame run -- python mixed.py ...` as a process group leader, as a shell job. */
async function startGroup(dir: string, args: string[]): Promise<Deno.ChildProcess> {
  return new Deno.Command("python3", {
    args: [
      "-c",
      "import os,sys; os.setpgid(0,0); os.execvp(sys.argv[1], sys.argv[1:])",
      ...await flameArgv(["run", "-o", `${dir}/end.folded`, "--", PY313.exe, MIXED, ...args]),
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

/** Waits until a process of `exe` runs with `marker` in its command line; returns its PID. */
async function programPid(exe: string, marker: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    for (const e of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(e.name)) continue;
      try {
        const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).split("\0");
        if (cmd[0] === exe && cmd.includes(marker)) return Number(e.name);
      } catch { /* gone */ }
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${exe} ${marker} did not start`);
}

for (
  const [ending, how] of [
    ["Ctrl-C", "group-SIGINT"],
    ["a crash (SIGABRT)", "abort"],
    ["SIGTERM to the program", "program-SIGTERM"],
    ["os._exit", "exit"],
  ] as const
) {
  splicedTest(`ended by ${ending}: the Python frames are kept`, PY313, async (dir) => {
    const scratch = `${dir}/s-${how}`;
    const seconds = how === "abort" || how === "exit" ? "2" : "0";
    const ends = how === "abort" ? "abort" : how === "exit" ? "exit" : "normal";
    const child = await startGroup(dir, [seconds, scratch, ends]);
    const pid = await programPid(PY313.exe, scratch);
    if (how === "group-SIGINT" || how === "program-SIGTERM") {
      await new Promise((r) => setTimeout(r, 2000));
      if (how === "group-SIGINT") Deno.kill(-child.pid, "SIGINT");
      else Deno.kill(pid, "SIGTERM");
    }
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    const expected = { "group-SIGINT": 130, "abort": 134, "program-SIGTERM": 143, "exit": 3 }[how];
    assert.equal(out.code, expected, stderr);
    assertSpliced(Deno.readTextFileSync(`${dir}/end.folded`), ending, stderr);
  });
}

splicedTest(
  "a thread-per-request server: the short request threads are seen",
  byLabel("3.12.1"),
  async (dir) => {
    // 400 requests, each a thread that spins 4 ms: 1.6 s of CPU in threads perf's per-thread
    // counter at 99 Hz almost never samples (4% was seen before the reader's samples counted).
    // The program measures the CPU its request threads really had (less than 1.6 s on a busy
    // machine, where a spin of 4 ms wall time is preempted): the graph must show most of it.
    const cpuFile = `${dir}/handled-cpu.txt`;
    const r = await runFlame(
      [
        "run",
        "-o",
        `${dir}/srv.speedscope.json`,
        "--folded",
        `${dir}/srv.folded`,
        "--",
        byLabel("3.12.1").exe,
        fixture("server.py"),
        "400",
        cpuFile,
      ],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    const cpuNs = Number(Deno.readTextFileSync(cpuFile)) * 1e9;
    assert.ok(cpuNs > 0.2e9, `the request threads ran: ${cpuNs / 1e9} s`);
    let handle = 0;
    for (const [frames, ns] of foldedLines(Deno.readTextFileSync(`${dir}/srv.folded`))) {
      if (frames.some((f) => f.startsWith("Handler.handle ") || f.startsWith("handle "))) {
        handle += ns;
      }
    }
    const seen = `${(handle / 1e9).toFixed(2)} s of ${
      (cpuNs / 1e9).toFixed(2)
    } s seen in request threads`;
    // Most of it, and not much more: each thread's reader samples stand for at most one perf
    // period (0.8-1.15 of the CPU on a quiet machine, up to 1.5 with every core busy).
    assert.ok(handle >= 0.6 * cpuNs && handle <= 1.6 * cpuNs, seen);
    // The reader's frames, spliced or alone, carry the file and the function's first line.
    const source = Deno.readTextFileSync(fixture("server.py")).split("\n");
    const defLine = (def: string) => source.findIndex((l) => l.trim().startsWith(def)) + 1;
    const frames: { name: string; file?: string; line?: number }[] =
      JSON.parse(Deno.readTextFileSync(`${dir}/srv.speedscope.json`)).shared.frames;
    for (
      const [name, def] of [["busy (server.py)", "def busy("], [
        "Handler.handle (server.py)",
        "def handle(",
      ]]
    ) {
      const frame = frames.find((f) => f.name === name);
      assert.deepEqual(frame, { name, file: fixture("server.py"), line: defLine(def) });
    }
  },
);
