/**
 * The perf command lines flame runs, built by pure functions from a plain description, so every
 * flag is unit-tested and explained in one place (measurements: docs capture.md):
 *
 *   perf record -q -e cpu-clock -F 99 --call-graph dwarf,16384 -N --no-bpf-event -k 1
 *     -o DIR/perf.data -- CMD
 *   perf --buildid-dir DIR/buildid inject --jit -i DIR/perf.data -o DIR/perf.jit.data
 *   perf script -i DATA --no-inline --max-stack 1024 -F comm,pid,tid,time,period,event,ip,sym,dso
 *     [--time START,END]   (one per time slice, run in parallel on big recordings)
 */
import { UsageError } from "../errors.ts";

/** How perf walks the stack at each sample. */
export type CallGraph =
  | { mode: "fp" }
  | { mode: "dwarf"; size?: number }
  | { mode: "lbr" };

/** The largest user-stack copy perf accepts (`dwarf,65536` is refused). */
export const MAX_DWARF_SIZE = 65528;

/**
 * Parses `--call-graph fp|dwarf[,SIZE]|lbr|auto` (`auto`, or nothing, picks per runtime and
 * returns undefined). SIZE is bytes of user stack copied per sample.
 */
export function parseCallGraph(text: string | undefined, command: string): CallGraph | undefined {
  if (text === undefined || text === "auto") return undefined;
  const [mode, size, ...extra] = text.split(",");
  const bad = (why: string) =>
    new UsageError(
      `${command}: --call-graph ${why}, got '${text}'`,
      "use fp, dwarf, dwarf,SIZE (bytes, up to 65528), lbr or auto",
    );
  if (extra.length > 0) throw bad("takes at most one size");
  if (mode === "fp" || mode === "lbr") {
    if (size !== undefined) throw bad(`${mode} takes no size`);
    return { mode };
  }
  if (mode !== "dwarf") throw bad("wants fp, dwarf[,SIZE], lbr or auto");
  if (size === undefined) return { mode: "dwarf" };
  const n = Number(size);
  if (!/^\d+$/.test(size) || n < 8 || n > MAX_DWARF_SIZE) {
    throw bad(`size must be 8..${MAX_DWARF_SIZE} bytes`);
  }
  return { mode: "dwarf", size: Math.ceil(n / 8) * 8 };
}

/** `perf record`'s call-graph arguments. */
export function callGraphArgs(cg: CallGraph): string[] {
  switch (cg.mode) {
    case "fp":
      return ["-g"];
    case "lbr":
      return ["--call-graph", "lbr"];
    case "dwarf":
      return ["--call-graph", cg.size ? `dwarf,${cg.size}` : "dwarf"];
  }
}

/** `fp`, `dwarf,16384`, ... for messages. */
export function describeCallGraph(cg: CallGraph): string {
  return cg.mode === "dwarf" && cg.size ? `dwarf,${cg.size}` : cg.mode;
}

/**
 * True when the machine has a hardware PMU: a `cpu` (x86), `cpu_core`/`cpu_atom` (hybrid) or
 * ARM PMU among /sys/bus/event_source/devices. VMs often have none, and then `cycles` silently
 * becomes `cpu-clock` anyway.
 */
export function hasHardwarePmu(devices: string[]): boolean {
  return devices.some((d) => /^(?:cpu|cpu_core|cpu_atom)$|^armv\d|_pmu|pmu_/.test(d));
}

/** The sampling event: the user's, else `cycles` with a PMU, else `cpu-clock`. */
export function chooseEvent(userEvent: string | undefined, pmu: boolean): string {
  return userEvent ?? (pmu ? "cycles" : "cpu-clock");
}

/** What `perf record` is to sample. */
export type RecordTarget =
  | { command: string[] }
  | { pids: number[]; duration?: number }
  | { allCpus: true; duration?: number };

/** Everything `perf record` needs. */
export interface RecordSpec {
  perf: string;
  event: string;
  freq: number;
  callGraph: CallGraph;
  /** `-k 1`: CLOCK_MONOTONIC timestamps, which Python's and V8's jitdump need. */
  monotonicClock: boolean;
  output: string;
  target: RecordTarget;
  /** `-q`: perf's own chatter off (the program's output stays on the terminal). */
  quiet: boolean;
}

/**
 * The `perf record` command line. `-N` keeps perf from copying every DSO into ~/.debug (it
 * grew to 326 MB in testing); `--no-bpf-event` spares a second's wait at the end (BPF programs'
 * code is not what flame draws); the duration of an attach is a `sleep` that perf times.
 */
export function recordArgv(spec: RecordSpec): string[] {
  const argv = [spec.perf, "record"];
  if (spec.quiet) argv.push("-q");
  argv.push("-e", spec.event, "-F", String(spec.freq), ...callGraphArgs(spec.callGraph), "-N");
  // perf's thread that records BPF program loads waits out a one-second poll after the
  // program ends (measured: perf exits 0.9 s after its program with it, 20 ms without).
  argv.push("--no-bpf-event");
  if (spec.monotonicClock) argv.push("-k", "1");
  argv.push("-o", spec.output);
  const t = spec.target;
  if ("command" in t) return [...argv, "--", ...t.command];
  if ("pids" in t) argv.push("-p", t.pids.join(","));
  else argv.push("-a");
  if (t.duration !== undefined) argv.push("--", "sleep", formatSeconds(t.duration));
  return argv;
}

function formatSeconds(s: number): string {
  return String(Math.round(s * 1000) / 1000);
}

/** The fields the perf collapser reads: no srcline, no symoff, no addresses resolved twice. */
export const SCRIPT_FIELDS = ["comm", "pid", "tid", "time", "period", "event", "ip", "sym", "dso"];

/** Everything one `perf script` run needs. */
export interface ScriptSpec {
  perf: string;
  input: string;
  /** Expand inlined functions (addr2line per DSO; can take minutes on big binaries). */
  inline: boolean;
  /** Extra fields (e.g. `srcline`) after SCRIPT_FIELDS. */
  extraFields?: string[];
  /** `--time START,END` for one slice of the recording. */
  time?: string;
}

/**
 * The `perf script` command line: only the fields the collapser needs, no inline expansion
 * unless asked, and `--max-stack 1024` so stacks deeper than the kernel's 127 default survive.
 */
export function scriptArgv(spec: ScriptSpec): string[] {
  const argv = [spec.perf, "script", "-i", spec.input];
  if (!spec.inline) argv.push("--no-inline");
  argv.push("--max-stack", "1024", "-F", [...SCRIPT_FIELDS, ...(spec.extraFields ?? [])].join(","));
  if (spec.time) argv.push("--time", spec.time);
  return argv;
}

/** Bytes perf script's stdout holds before each write: one pipe's worth (Linux's default). */
export const SCRIPT_OUTPUT_BUFFER = 1 << 16;

/**
 * Runs a perf script command line under coreutils' `stdbuf` with a pipe-sized output buffer.
 * perf's stdio writes a pipe 4 KiB at a time, and each write wakes flame for a read of 4 KiB:
 * 16x the reads and wake-ups. Without stdbuf, the command line is returned as it is.
 */
export function bufferedArgv(argv: string[], stdbuf: string | undefined): string[] {
  return stdbuf ? [stdbuf, `--output=${SCRIPT_OUTPUT_BUFFER}`, ...argv] : argv;
}

/**
 * `perf inject --jit`: turns jitdump records into `jitted-PID-N.so` files so perf script can
 * unwind through and name JIT frames. `--buildid-dir` keeps its copies out of ~/.debug.
 */
export function injectArgv(perf: string, input: string, output: string, buildidDir: string) {
  return [perf, "--buildid-dir", buildidDir, "inject", "--jit", "-i", input, "-o", output];
}

/** `perf report --header-only`: the recording's header, without reading its samples. */
export function headerArgv(perf: string, input: string): string[] {
  return [perf, "report", "--header-only", "-i", input];
}

/** What flame reads from a recording's header. */
export interface PerfHeader {
  /** Time of the first and last sample, in nanoseconds (perf's clock). */
  firstNs?: number;
  lastNs?: number;
  /** Event names (`cpu-clock`, `cycles:u`, ...). */
  events: string[];
  /** The command line that recorded it. */
  cmdline?: string;
  /** True when a call-graph mode was recorded (some event samples CALLCHAIN). */
  callchains: boolean;
  /** True when user stacks were copied for DWARF unwinding (STACK_USER). */
  dwarf: boolean;
  /** The sampling rate (`-F`), when it was recorded by frequency. */
  freq?: number;
}

/** Parses `perf report --header-only` text. */
export function parseHeader(text: string): PerfHeader {
  const header: PerfHeader = { events: [], callchains: false, dwarf: false };
  for (const line of text.split("\n")) {
    let m = /^# time of first sample : ([\d.]+)/.exec(line);
    if (m) header.firstNs = parseSecondsNs(m[1]);
    m = /^# time of last sample : ([\d.]+)/.exec(line);
    if (m) header.lastNs = parseSecondsNs(m[1]);
    m = /^# cmdline : (.*)$/.exec(line);
    if (m) header.cmdline = m[1].trim();
    m = /^# event : name = ([^,]+),/.exec(line);
    if (m) {
      header.events.push(m[1].trim());
      if (/sample_type = [^,]*CALLCHAIN/.test(line)) header.callchains = true;
      if (/sample_type = [^,]*STACK_USER/.test(line)) header.dwarf = true;
      const freq = /sample_freq \} = (\d+).*\bfreq = 1\b/.exec(line);
      if (freq) header.freq ??= Number(freq[1]);
    }
  }
  return header;
}

/** Seconds from the first sample to the last, by the header (0 when unknown). */
export function headerSeconds(header: PerfHeader | undefined): number {
  if (header?.firstNs === undefined || header.lastNs === undefined) return 0;
  return Math.max(0, header.lastNs - header.firstNs) / 1e9;
}

/** What the first bytes of a would-be perf.data file say about it. */
export type PerfDataState = "ok" | "unfinished" | "not-perf";

/**
 * Reads the start of a perf.data file (64 bytes are enough): `not-perf` without perf's magic
 * (an empty file, or another format), `unfinished` when the data section's size is still 0
 * (perf never finished the file: the program could not start, or perf was killed), else `ok`.
 * The header is magic, its size, attr size, then {offset, size} of attrs and of data; a piped
 * recording (`-o -`) has a 16-byte header and no sizes to check.
 */
export function perfDataState(head: Uint8Array): PerfDataState {
  const magic = new TextDecoder().decode(head.subarray(0, 8));
  if (magic !== "PERFILE2" && magic !== "2ELIFREP") return "not-perf";
  const little = magic === "PERFILE2";
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length < 16) return "not-perf";
  if (view.getBigUint64(8, little) === 16n) return "ok";
  if (head.length < 56) return "not-perf";
  return view.getBigUint64(48, little) === 0n ? "unfinished" : "ok";
}

/**
 * Makes readable a recording whose perf was killed before it finished the file: perf writes
 * the header and the event attributes first and the data section's size last, so a file with
 * attributes, data and a size of 0 holds every sample written so far. Sets that size to what
 * is there (perf script stops at a record cut short at the end). Returns true when repaired.
 */
export function repairUnfinished(path: string): boolean {
  let file: Deno.FsFile | undefined;
  try {
    file = Deno.openSync(path, { read: true, write: true });
    const head = new Uint8Array(64);
    if ((file.readSync(head) ?? 0) < 56 || perfDataState(head) !== "unfinished") return false;
    const little = head[0] === 0x50; // "PERFILE2"
    const view = new DataView(head.buffer);
    const attrsSize = view.getBigUint64(32, little);
    const dataOffset = view.getBigUint64(40, little);
    const fileSize = BigInt(file.statSync().size);
    if (attrsSize === 0n || dataOffset === 0n || fileSize <= dataOffset) return false;
    const size = new Uint8Array(8);
    new DataView(size.buffer).setBigUint64(0, fileSize - dataOffset, little);
    file.seekSync(48, Deno.SeekMode.Start);
    file.writeSync(size);
    return true;
  } catch {
    return false;
  } finally {
    file?.close();
  }
}

/** The call-graph mode a header shows (for the diagnosis), if any. */
export function headerCallGraph(header: PerfHeader | undefined): CallGraph | undefined {
  if (!header) return undefined;
  if (header.dwarf) {
    const m = /--call-graph[ =]dwarf,(\d+)/.exec(header.cmdline ?? "");
    return { mode: "dwarf", size: m ? Number(m[1]) : 8192 };
  }
  return header.callchains ? { mode: "fp" } : undefined;
}

/** `485.886568` (seconds) → nanoseconds, exactly (no floating-point rounding of the fraction). */
export function parseSecondsNs(text: string): number {
  const [sec, frac = ""] = text.split(".");
  return Number(sec) * 1e9 + Number(frac.padEnd(9, "0").slice(0, 9));
}

/** Nanoseconds → `485.886568123`, the form `perf script --time` reads. */
export function formatNs(ns: number): string {
  const sec = Math.floor(ns / 1e9);
  return `${sec}.${String(ns - sec * 1e9).padStart(9, "0")}`;
}

/**
 * Splits [first, last] into `n` back-to-back `--time` ranges. Both ends of a perf time range
 * are inclusive, so each range ends 1 ns before the next starts; the first and last are open
 * (the header's times are rounded to microseconds, and nothing may fall outside).
 */
export function timeSlices(firstNs: number, lastNs: number, n: number): string[] {
  if (n <= 1 || !(lastNs > firstNs)) return [""];
  const step = Math.floor((lastNs - firstNs) / n);
  if (step < 1000) return [""];
  const cuts = Array.from({ length: n - 1 }, (_, i) => firstNs + step * (i + 1));
  return Array.from({ length: n }, (_, i) => {
    const start = i === 0 ? "" : formatNs(cuts[i - 1]);
    const end = i === n - 1 ? "" : formatNs(cuts[i] - 1);
    return `${start},${end}`;
  });
}

/**
 * Bytes of recording from which two slices pay on 2 or 3 CPUs. Measured with flame report on 2
 * vCPUs (medians, DWARF): 64 MB and 136 MB C recordings were even (0.18/0.18 s, 0.26/0.26 s);
 * 250 MB Python 0.49 → 0.41 s, 265 MB C 0.33 → 0.31 s, 550 MB Python 0.88 → 0.67 s, 650 MB C
 * 0.46 → 0.40 s, 1 GB Python 1.28 → 1.01 s.
 */
export const TWO_CPU_SLICE_BYTES = 192 << 20;

/**
 * How many parallel `perf script` slices a recording is worth. Each slice pays perf script's
 * fixed cost again (start-up, symbol tables, reading and ordering the whole file: ~0.13 s for
 * 550-650 MB here; samples outside its time range are skipped before unwinding) and only the
 * unwinding and printing are split, while flame's own folding needs a core too. With 4+ CPUs,
 * one slice per CPU but one (left for folding) on big recordings; with 2 or 3, two slices once
 * the recording is big enough for the unwinding to dwarf the fixed cost.
 */
export function sliceCount(dataBytes: number, cores: number, dwarf: boolean): number {
  if (cores >= 4) {
    const threshold = dwarf ? 128 << 20 : 64 << 20;
    return dataBytes < threshold ? 1 : Math.min(cores - 1, 8);
  }
  return cores >= 2 && dataBytes >= TWO_CPU_SLICE_BYTES ? 2 : 1;
}
