import assert from "node:assert/strict";
import {
  bufferedArgv,
  callGraphArgs,
  chooseEvent,
  formatNs,
  hasHardwarePmu,
  headerArgv,
  headerSeconds,
  injectArgv,
  parseCallGraph,
  parseHeader,
  parseSecondsNs,
  perfDataState,
  recordArgv,
  type RecordSpec,
  scriptArgv,
  sliceCount,
  timeSlices,
} from "../src/capture/perf.ts";
import { UsageError } from "../src/errors.ts";

const base: RecordSpec = {
  perf: "perf",
  event: "cpu-clock",
  freq: 99,
  callGraph: { mode: "dwarf", size: 16384 },
  monotonicClock: true,
  output: "/tmp/f/perf.data",
  target: { command: ["./prog", "5"] },
  quiet: true,
};

Deno.test("perf record: a command, with DWARF stacks, no build-id cache, monotonic clock", () => {
  assert.deepEqual(recordArgv(base), [
    "perf",
    "record",
    "-q",
    "-e",
    "cpu-clock",
    "-F",
    "99",
    "--call-graph",
    "dwarf,16384",
    "-N",
    "--no-bpf-event",
    "-k",
    "1",
    "-o",
    "/tmp/f/perf.data",
    "--",
    "./prog",
    "5",
  ]);
});

Deno.test("perf record: attach to PIDs for a duration, or the whole system", () => {
  assert.deepEqual(
    recordArgv({
      ...base,
      callGraph: { mode: "fp" },
      monotonicClock: false,
      quiet: false,
      target: { pids: [12, 34], duration: 2.5 },
    }),
    [
      "perf",
      "record",
      "-e",
      "cpu-clock",
      "-F",
      "99",
      "-g",
      "-N",
      "--no-bpf-event",
      "-o",
      "/tmp/f/perf.data",
      "-p",
      "12,34",
      "--",
      "sleep",
      "2.5",
    ],
  );
  assert.deepEqual(
    recordArgv({ ...base, target: { pids: [7] } }).slice(-3),
    ["/tmp/f/perf.data", "-p", "7"],
  );
  assert.deepEqual(
    recordArgv({ ...base, target: { allCpus: true, duration: 3 } }).slice(-5),
    ["/tmp/f/perf.data", "-a", "--", "sleep", "3"],
  );
});

Deno.test("perf script: a pipe-sized output buffer through stdbuf, when there is one", () => {
  assert.deepEqual(bufferedArgv(["perf", "script"], "/usr/bin/stdbuf"), [
    "/usr/bin/stdbuf",
    "--output=65536",
    "perf",
    "script",
  ]);
  assert.deepEqual(bufferedArgv(["perf", "script"], undefined), ["perf", "script"]);
});

Deno.test("perf script: only the collapser's fields, no inlining, deep stacks, time slices", () => {
  assert.deepEqual(scriptArgv({ perf: "perf", input: "d", inline: false }), [
    "perf",
    "script",
    "-i",
    "d",
    "--no-inline",
    "--max-stack",
    "1024",
    "-F",
    "comm,pid,tid,time,period,event,ip,sym,dso",
  ]);
  assert.deepEqual(
    scriptArgv({ perf: "perf", input: "d", inline: true, extraFields: ["srcline"], time: "1.5," }),
    [
      "perf",
      "script",
      "-i",
      "d",
      "--max-stack",
      "1024",
      "-F",
      "comm,pid,tid,time,period,event,ip,sym,dso,srcline",
      "--time",
      "1.5,",
    ],
  );
});

Deno.test("perf inject and header: build-ids kept out of ~/.debug", () => {
  assert.deepEqual(injectArgv("perf", "raw", "jit", "/t/bid"), [
    "perf",
    "--buildid-dir",
    "/t/bid",
    "inject",
    "--jit",
    "-i",
    "raw",
    "-o",
    "jit",
  ]);
  assert.deepEqual(headerArgv("perf", "d"), ["perf", "report", "--header-only", "-i", "d"]);
});

Deno.test("--call-graph: fp, dwarf[,SIZE], lbr, auto; bad values are usage errors", () => {
  assert.equal(parseCallGraph(undefined, "run"), undefined);
  assert.equal(parseCallGraph("auto", "run"), undefined);
  assert.deepEqual(parseCallGraph("fp", "run"), { mode: "fp" });
  assert.deepEqual(parseCallGraph("dwarf", "run"), { mode: "dwarf" });
  assert.deepEqual(parseCallGraph("dwarf,32768", "run"), { mode: "dwarf", size: 32768 });
  assert.deepEqual(parseCallGraph("dwarf,1000", "run"), { mode: "dwarf", size: 1000 });
  assert.deepEqual(parseCallGraph("dwarf,1001", "run"), { mode: "dwarf", size: 1008 });
  for (const bad of ["dwarf,65536", "dwarf,x", "fp,8", "stack", "dwarf,1,2"]) {
    assert.throws(() => parseCallGraph(bad, "run"), UsageError, bad);
  }
  assert.deepEqual(callGraphArgs({ mode: "fp" }), ["-g"]);
  assert.deepEqual(callGraphArgs({ mode: "dwarf" }), ["--call-graph", "dwarf"]);
  assert.deepEqual(callGraphArgs({ mode: "lbr" }), ["--call-graph", "lbr"]);
});

Deno.test("event: cycles with a hardware PMU, cpu-clock without (VMs)", () => {
  const vm = ["breakpoint", "msr", "power", "software", "tracepoint", "uprobe"];
  assert.equal(hasHardwarePmu(vm), false);
  assert.equal(hasHardwarePmu([...vm, "cpu"]), true);
  assert.equal(hasHardwarePmu(["cpu_core", "cpu_atom", "software"]), true);
  assert.equal(hasHardwarePmu(["armv8_pmuv3_0", "software"]), true);
  assert.equal(chooseEvent(undefined, false), "cpu-clock");
  assert.equal(chooseEvent(undefined, true), "cycles");
  assert.equal(chooseEvent("page-faults", false), "page-faults");
});

const HEADER = `# ========
# captured on    : Sat Nov 22 03:21:35 2025
# cmdline : /usr/bin/perf record -q -e cpu-clock -F 999 --call-graph dwarf,32768 -N -o x.data -- ./prog
# event : name = cpu-clock, , id = { 198, 199 }, type = 1, size = 128, { sample_period, sample_freq } = 999, sample_type = IP|TID|TIME|ADDR|CALLCHAIN|PERIOD|REGS_USER|STACK_USER|DATA_SRC, read_format = ID|LOST
# time of first sample : 457.698808
# time of last sample : 472.287766
# sample duration :  14588.958 ms
`;

Deno.test("header: sample times, events, call-graph mode, command line", () => {
  const h = parseHeader(HEADER);
  assert.equal(h.firstNs, 457_698_808_000);
  assert.equal(h.lastNs, 472_287_766_000);
  assert.deepEqual(h.events, ["cpu-clock"]);
  assert.equal(h.callchains, true);
  assert.equal(h.dwarf, true);
  assert.match(h.cmdline!, /dwarf,32768/);
  const fp = parseHeader(HEADER.replace("|REGS_USER|STACK_USER", ""));
  assert.equal(fp.dwarf, false);
  assert.equal(fp.callchains, true);
  assert.equal(headerSeconds(h).toFixed(6), "14.588958");
  assert.equal(headerSeconds(undefined), 0);
});

Deno.test("header: the sampling rate of a frequency-mode recording", () => {
  const line = (value: number, freq: number) =>
    `# event : name = cpu-clock, , id = { 1 }, type = 1, size = 128, ` +
    `{ sample_period, sample_freq } = ${value}, sample_type = IP|TID, disabled = 1, ` +
    `inherit = 1, freq = ${freq}, enable_on_exec = 1\n`;
  assert.equal(parseHeader(line(499, 1)).freq, 499);
  assert.equal(parseHeader(line(100000, 0)).freq, undefined, "-c: a period, not a rate");
  assert.equal(parseHeader(HEADER).freq, undefined);
});

Deno.test("perf.data: finished, unfinished (data size 0), piped, or not perf's at all", () => {
  const file = (magic: string, headerSize: number, dataSize: number) => {
    const b = new Uint8Array(64);
    b.set(new TextEncoder().encode(magic));
    const v = new DataView(b.buffer);
    v.setBigUint64(8, BigInt(headerSize), true);
    v.setBigUint64(48, BigInt(dataSize), true);
    return b;
  };
  assert.equal(perfDataState(file("PERFILE2", 104, 5896)), "ok");
  assert.equal(perfDataState(file("PERFILE2", 104, 0)), "unfinished");
  assert.equal(perfDataState(file("PERFILE2", 16, 0)), "ok", "a piped recording has no sizes");
  assert.equal(perfDataState(file("#!/bin/s", 0, 0)), "not-perf");
  assert.equal(perfDataState(new Uint8Array()), "not-perf");
  assert.equal(perfDataState(file("PERFILE2", 104, 5896).subarray(0, 40)), "not-perf");
});

Deno.test("time slices: back to back, inclusive ends 1 ns apart, open at both ends", () => {
  assert.equal(parseSecondsNs("485.886568"), 485_886_568_000);
  assert.equal(parseSecondsNs("1.000000001"), 1_000_000_001);
  assert.equal(formatNs(485_886_568_123), "485.886568123");
  assert.equal(formatNs(5_000_000_007), "5.000000007");
  assert.deepEqual(timeSlices(10e9, 12e9, 1), [""]);
  assert.deepEqual(timeSlices(10e9, 12e9, 2), [",10.999999999", "11.000000000,"]);
  assert.deepEqual(timeSlices(10e9, 13e9, 3), [
    ",10.999999999",
    "11.000000000,11.999999999",
    "12.000000000,",
  ]);
  assert.deepEqual(timeSlices(10e9, 10e9, 4), [""], "a zero-length recording is one slice");
  assert.equal(sliceCount(10 << 20, 8, true), 1);
  assert.equal(sliceCount(136 << 20, 2, true), 1, "2 CPUs, 136 MB: one slice is as fast");
  assert.equal(sliceCount(192 << 20, 2, false), 2, "2 CPUs, big: two slices");
  assert.equal(sliceCount(1 << 30, 2, true), 2);
  assert.equal(sliceCount(1 << 30, 3, true), 2);
  assert.equal(sliceCount(1 << 30, 1, true), 1);
  assert.equal(sliceCount(1 << 30, 8, true), 7);
  assert.equal(sliceCount(1 << 30, 64, true), 8);
});
