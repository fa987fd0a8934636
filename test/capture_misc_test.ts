import assert from "node:assert/strict";
import {
  noSuchProcess,
  perfInstallHint,
  privilegeNotes,
  recordFailure,
} from "../src/capture/permissions.ts";
import { commandLabel, oneLine, tableLines } from "../src/format.ts";
import { childPids } from "../src/python/children.ts";
import { processesPhrase, processLabel } from "../src/capture/record.ts";
import {
  dtraceArgv,
  dtraceCommandString,
  dtraceFailure,
  dtraceScript,
} from "../src/capture/dtrace.ts";
import { jitdumpPid, selectArtifacts } from "../src/capture/cleanup.ts";
import { interruptAction, programEnding, signalExitCode } from "../src/capture/signals.ts";
import { parseHeaderLine } from "../src/capture/pids.ts";
import { DtraceCollapser } from "../src/collapse/dtrace.ts";
import { collapseInput } from "../src/collapse/stream.ts";
import { openInput } from "../src/io/input.ts";
import { Progress } from "../src/log.ts";
import { repoPath } from "./helpers.ts";

const PARANOID = `Error:
Access to performance monitoring and observability operations is limited.
Consider adjusting /proc/sys/kernel/perf_event_paranoid setting to open
access to performance monitoring and observability operations for processes
without CAP_PERFMON, CAP_SYS_PTRACE or CAP_SYS_ADMIN Linux capability.
perf_event_paranoid setting is 2:
`;

Deno.test("permissions: which package has perf", () => {
  assert.match(
    perfInstallHint('ID=debian\nVERSION_ID="12"\n', "6.1.0"),
    /apt-get install linux-perf/,
  );
  assert.match(
    perfInstallHint("ID=ubuntu\nID_LIKE=debian\n", "6.8.0-45-generic"),
    /linux-tools-6\.8\.0-45-generic linux-tools-generic/,
  );
  assert.match(perfInstallHint('ID="fedora"\n', "6.9"), /dnf install perf/);
  assert.match(perfInstallHint("ID=arch\n", "6.9"), /pacman -S perf/);
  assert.match(perfInstallHint("", "6.9"), /distribution's perf package/);
});

Deno.test("permissions: perf_event_paranoid errors name the setting and the fix", () => {
  const run = recordFailure(PARANOID, { mode: "run", event: "cpu-clock", euid: 1000, paranoid: 2 });
  assert.match(run.message, /not permitted to record \(kernel\.perf_event_paranoid=2\)/);
  assert.match(run.hint!, /sudo sysctl kernel\.perf_event_paranoid=1/);
  const all = recordFailure(PARANOID, {
    mode: "all-cpus",
    event: "cpu-clock",
    euid: 1000,
    paranoid: 2,
  });
  assert.match(all.hint!, /paranoid=-1/);
  const pid = recordFailure(PARANOID, { mode: "pids", pids: [1], event: "cpu-clock", euid: 1000 });
  assert.match(pid.message, /attach to 1 \(another user's process/);
  assert.match(pid.hint!, /process's owner/);
});

Deno.test("permissions: other perf failures", () => {
  const ev = recordFailure("event syntax error: 'bogus'\n  \\___ parser error", {
    mode: "run",
    event: "bogus",
    euid: 0,
  });
  assert.match(ev.message, /cannot record event 'bogus'/);
  const lbr = recordFailure(
    "Error:\ncpu-clock:ppp: PMU Hardware or event type doesn't support branch stack sampling.",
    { mode: "run", event: "cpu-clock", euid: 0 },
  );
  assert.match(lbr.hint!, /dwarf/);
  const other = recordFailure("Error:\nsomething odd happened\n", {
    mode: "run",
    event: "x",
    euid: 0,
  });
  assert.equal(other.message, "perf record failed: something odd happened");
  assert.deepEqual(privilegeNotes(0, 2, 0), []);
  assert.match(
    privilegeNotes(1000, 2, 0)[0],
    /kernel frames are not recorded \(kernel\.perf_event_paranoid=2\)/,
  );
  assert.match(privilegeNotes(0, 2, 2)[0], /kptr_restrict=2/);
});

Deno.test("dtrace: the command for a program and for running processes", () => {
  assert.deepEqual(
    dtraceArgv({ freq: 997, target: { command: ["./my prog", "-n", "5"] }, output: "/t/o" }),
    [
      "dtrace",
      "-q",
      "-x",
      "ustackframes=100",
      "-n",
      "profile-997 /pid == $target/ { @[ustack(100)] = count(); }",
      "-o",
      "/t/o",
      "-c",
      "./my\\ prog -n 5",
    ],
  );
  const one = dtraceArgv({ freq: 99, target: { pids: [42] }, duration: 5, output: "o" });
  assert.deepEqual(one.slice(-2), ["-p", "42"]);
  assert.equal(
    one[5],
    "profile-99 /pid == $target/ { @[ustack(100)] = count(); } tick-5000ms { exit(0); }",
  );
  assert.equal(
    dtraceScript({ freq: 997, target: { pids: [1, 2] }, output: "o" }),
    "profile-997 /pid == 1 || pid == 2/ { @[ustack(100)] = count(); }",
  );
  assert.equal(dtraceCommandString(["a b", "c\\d"]), "a\\ b c\\\\d");
});

Deno.test("dtrace: not permitted → the sudo hint", () => {
  const e = dtraceFailure(
    "dtrace: failed to initialize dtrace: DTrace requires additional privileges",
  );
  assert.match(e.message, /not permitted/);
  assert.match(e.hint!, /sudo flame run/);
  assert.match(dtraceFailure("dtrace: failed to grab pid 99: No such process").message, /attach/);
});

Deno.test("dtrace: recorded aggregation output folds through the DTrace collapser", async () => {
  const fold = async (path: string) => {
    const r = await collapseInput(
      await openInput(path),
      () => new DtraceCollapser(),
      new Progress(false),
    );
    return r;
  };
  const q = await fold(repoPath("fixtures/capture/dtrace-q.txt"));
  assert.deepEqual([...q.stacks].sort(), [
    ["dyld`start;prog`main;prog`do_syscalls;libsystem_kernel.dylib`write", 3],
    ["dyld`start;prog`main;prog`mid_a;prog`mid_b;prog`leaf_compute", 41],
  ]);
  const real = await fold(repoPath("fixtures/dtrace/c-workload.txt"));
  const expected = Deno.readTextFileSync(repoPath("fixtures/dtrace/c-workload.folded"));
  const lines = [...real.stacks].map(([s, n]) => `${s} ${n}`).sort();
  assert.deepEqual(lines, expected.trim().split("\n").sort());
});

Deno.test("cleanup: only the recorded PIDs' maps, dumps and jitted objects", () => {
  const names = [
    "perf-10.map",
    "perf-11.map",
    "jit-10.dump",
    "jit-12.dump",
    "jitted-10-1.so",
    "jitted-10-392.so",
    "jitted-11-3.so",
    "perf-10.map.bak",
    "isolate-0x55d1c2e0-10-v8.log",
    "isolate-0x55d1c2e0-11-2-v8.log",
    "isolate-0x55d1c2e0-v8.log",
    "xperf-10.map",
    "flame-abc",
  ];
  const all = { maps: true, dumps: true, jitted: true };
  assert.deepEqual(selectArtifacts(names, new Set([10]), all), [
    "perf-10.map",
    "jit-10.dump",
    "jitted-10-1.so",
    "jitted-10-392.so",
    "isolate-0x55d1c2e0-10-v8.log",
  ]);
  assert.deepEqual(
    selectArtifacts(names, new Set([10, 11]), { maps: false, dumps: false, jitted: true }),
    ["jitted-10-1.so", "jitted-10-392.so", "jitted-11-3.so"],
  );
  assert.deepEqual(selectArtifacts(names, new Set(), all), []);
  assert.deepEqual(selectArtifacts(names, new Set([11]), { ...all, jitted: false }), [
    "perf-11.map",
    "isolate-0x55d1c2e0-11-2-v8.log",
  ]);
  assert.equal(jitdumpPid("jit-123.dump"), 123);
  assert.equal(jitdumpPid("jit-x.dump"), undefined);
});

Deno.test("signals: first Ctrl-C stops, the second aborts; exit statuses", () => {
  assert.equal(interruptAction(1), "stop");
  assert.equal(interruptAction(2), "abort");
  assert.equal(signalExitCode("SIGINT"), 130);
  assert.equal(signalExitCode("SIGSEGV"), 139);
  assert.deepEqual(programEnding(0, null, false), { code: 0 });
  const three = programEnding(3, null, false);
  assert.equal(three.code, 3);
  assert.equal(three.reason, "the program exited with status 3");
  assert.match(three.warning!, /exited with status 3: the graph shows/);
  const segv = programEnding(139, "SIGSEGV", false);
  assert.equal(segv.code, 139);
  assert.match(segv.warning!, /killed by SIGSEGV/);
  // Ctrl-C was acknowledged when it came: no second word about it at the end.
  assert.deepEqual(programEnding(130, "SIGINT", true), { code: 130, reason: "stopped by Ctrl-C" });
});

Deno.test("labels: commands and processes on one line, shortened", () => {
  assert.equal(oneLine("  a\n\tb   c "), "a b c");
  assert.equal(oneLine("x".repeat(61)), `${"x".repeat(59)}…`);
  assert.equal(oneLine("x".repeat(60)), "x".repeat(60));
  assert.equal(commandLabel(["./prog", "a b", "it's"]), `./prog 'a b' 'it'\\''s'`);
  const program = "\nimport os\n\ndef f():\n    return 1\n";
  const label = processLabel({ pid: 7, cmdline: ["/opt/py/bin/python3.13", "-c", program] });
  assert.equal(label, "7 (python3.13 -c 'import os def f(): return 1')");
  const long = processLabel({ pid: 8, cmdline: ["python3", "-c", "x = 1\n".repeat(30)] });
  assert.ok(!long.includes("\n") && long.endsWith("…)") && long.length <= 65, long);
  assert.equal(processLabel({ pid: 2, cmdline: [] }), "2");
  // A command line with a right-to-left override reorders only itself in titles.
  assert.equal(
    processLabel({ pid: 3, cmdline: ["evil\u202e", "x"] }),
    "3 (\u2068'evil\u202e' x\u2069)",
  );
  assert.equal(processesPhrase(["1 (a)"]), "process 1 (a)");
  assert.equal(processesPhrase(["1 (a)", "2 (b)", "3"]), "processes 1 (a), 2 (b) and 3");
  assert.equal(noSuchProcess([9]).message, "no such process: 9");
  assert.equal(noSuchProcess([9, 10]).message, "no such processes: 9, 10");
});

Deno.test("pids: read from perf script headers, process names with spaces and digits", () => {
  assert.equal(
    parseHeaderLine("python3.13 10146/10146   485.886568:    1001001 cpu-clock: ")?.pid,
    10146,
  );
  assert.equal(parseHeaderLine("Web Content 2 77/78 [001]  1.5:  1 cycles:")?.pid, 77);
  assert.equal(parseHeaderLine("\t  7f12 main (/bin/p)"), undefined);
  assert.deepEqual(parseHeaderLine("java 5/6 12.250000: 1 cpu-clock:"), {
    comm: "java",
    pid: 5,
    tid: 6,
    timeNs: 12_250_000_000,
  });
  // perf right-aligns the name, which may hold spaces.
  assert.equal(
    parseHeaderLine("    Web Content 2 77/78 [001]  1.5:  1 cycles:")?.comm,
    "Web Content 2",
  );
});

Deno.test("text tables: columns right-aligned to their widest cell, the last left as it is", () => {
  assert.deepEqual(
    tableLines([["self", "self%", "function"], ["1.5 s", "12.00%", "main"], [
      "250 ms",
      "2.00%",
      "a b",
    ]]),
    ["  self   self%  function", " 1.5 s  12.00%  main", "250 ms   2.00%  a b"],
  );
  assert.deepEqual(tableLines([]), []);
});

Deno.test("childPids: this process's children, none once one has exited", async () => {
  const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    assert.ok(childPids(Deno.pid).includes(child.pid), "a running child is found");
    assert.deepEqual(childPids(child.pid), []);
  } finally {
    child.kill();
    await child.status;
  }
  assert.ok(!childPids(Deno.pid).includes(child.pid), "a reaped child is gone");
  assert.deepEqual(childPids(4_194_305), [], "no such process");
});
