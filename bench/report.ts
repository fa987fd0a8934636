/**
 * `flame report` end to end against the pipelines it replaces, on DWARF recordings made here:
 *
 *   flame report DATA -o out.svg                       (default: slices chosen by size and cores)
 *   flame report DATA -o out.svg --jobs 1              (one perf script for the whole recording)
 *   flame report DATA -o out.svg --jobs 2              (two perf script time slices in parallel)
 *   perf script --no-inline -i DATA > /dev/null        (the floor of any perf script pipeline,
 *                                                       inferno's included: inferno cannot be
 *                                                       built here)
 *   perf script --no-inline -i DATA | stackcollapse-perf.pl | flamegraph.pl > out.svg
 *                                                       (when the FlameGraph scripts are in
 *                                                       $FLAMEGRAPH_DIR or /tmp/FlameGraph)
 *
 * Recordings: a C program (fixtures/capture/busy.c) at 999 Hz with --call-graph dwarf,16384,
 * and a big one (the same at 2000 Hz for --big-seconds, default 12: about 400 MB, where two
 * perf script slices pay on 2 CPUs), both kept in bench/data/capture/ (made on demand; the big
 * case is skipped when perf cannot record it, --big-seconds=0 skips it); with --python, also
 * a Python 3.13 perf_jit recording, made for the run and deleted afterwards (its jitted-*.so
 * files live in /tmp).
 *
 *   deno run -A bench/report.ts [--runs=N] [--seconds=S] [--big-seconds=S] [--python] [--json]
 *
 * Prints the best wall time of N runs (default 3) of each, and the ratios.
 */
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const DATA_DIR = `${ROOT}bench/data/capture`;

interface Args {
  runs: number;
  seconds: number;
  bigSeconds: number;
  python: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    runs: 3,
    seconds: 8,
    bigSeconds: 12,
    python: false,
    json: false,
  };
  for (const a of argv) {
    if (a.startsWith("--runs=")) args.runs = Math.max(1, Number(a.slice(7)));
    else if (a.startsWith("--seconds=")) args.seconds = Math.max(1, Number(a.slice(10)));
    else if (a.startsWith("--big-seconds=")) args.bigSeconds = Math.max(0, Number(a.slice(14)));
    else if (a === "--python") args.python = true;
    else if (a === "--json") args.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return args;
}

async function sh(script: string, env?: Record<string, string>): Promise<number> {
  const started = performance.now();
  const r = await new Deno.Command("bash", {
    args: ["-o", "pipefail", "-c", script],
    stdout: "null",
    stderr: "piped",
    env,
  }).output();
  if (!r.success) {
    throw new Error(`failed: ${script}\n${new TextDecoder().decode(r.stderr).slice(0, 500)}`);
  }
  return (performance.now() - started) / 1000;
}

async function best(runs: number, script: string): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < runs; i++) min = Math.min(min, await sh(script));
  return min;
}

function q(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** A C recording at `freq` Hz, made once and kept in bench/data/capture/. */
async function cRecording(seconds: number, freq = 999): Promise<string> {
  const data = `${DATA_DIR}/c-dwarf-${seconds}s${freq === 999 ? "" : `-${freq}hz`}.data`;
  try {
    if (Deno.statSync(data).size > 0) return data;
  } catch { /* make it */ }
  Deno.mkdirSync(DATA_DIR, { recursive: true });
  const busy = `${DATA_DIR}/busy`;
  await sh(`gcc -O2 -g -o ${q(busy)} ${q(`${ROOT}fixtures/capture/busy.c`)}`);
  console.error(`bench/report: recording ${seconds} s of busy.c (dwarf,16384, ${freq} Hz)...`);
  try {
    await sh(
      `perf record -q -e cpu-clock -F ${freq} --call-graph dwarf,16384 -N -o ${q(data)} -- ` +
        `${q(busy)} ${seconds}`,
    );
  } catch (err) {
    // No half-made recording to reuse next time.
    try {
      Deno.removeSync(data);
    } catch { /* perf wrote nothing */ }
    throw err;
  }
  return data;
}

/** A Python 3.13 recording, injected; returns it and a cleanup. */
async function pythonRecording(seconds: number): Promise<[string, () => void] | undefined> {
  const python = `${Deno.env.get("HOME")}/.pyenv/versions/3.13.0/bin/python3.13`;
  try {
    Deno.statSync(python);
  } catch {
    console.error(`bench/report: no ${python}: skipping the Python recording`);
    return undefined;
  }
  const dir = Deno.makeTempDirSync({ prefix: "flame-bench-report-" });
  console.error(`bench/report: recording ${seconds} s of Python 3.13 (perf_jit, dwarf,32768)...`);
  await sh(
    `PYTHON_PERF_JIT_SUPPORT=1 perf record -q -e cpu-clock -k 1 -F 999 --call-graph dwarf,32768 ` +
      `-N -o ${dir}/raw.data -- ${q(python)} ${q(`${ROOT}fixtures/capture/work.py`)} ` +
      `${seconds} ${dir}/scratch`,
  );
  await sh(`perf --buildid-dir ${dir}/bid inject --jit -i ${dir}/raw.data -o ${dir}/py.data`);
  const pids = new Set<string>();
  const out = await new Deno.Command("perf", {
    args: ["script", "-F", "pid", "-i", `${dir}/py.data`],
    stdout: "piped",
    stderr: "null",
  }).output();
  for (const w of new TextDecoder().decode(out.stdout).split(/\s+/)) if (w) pids.add(w);
  const cleanup = () => {
    for (const e of Deno.readDirSync("/tmp")) {
      const m = /^(?:jit-(\d+)\.dump|jitted-(\d+)-\d+\.so)$/.exec(e.name);
      if (m && pids.has(m[1] ?? m[2])) Deno.removeSync(`/tmp/${e.name}`);
    }
    Deno.removeSync(dir, { recursive: true });
  };
  return [`${dir}/py.data`, cleanup];
}

function flameGraphDir(): string | undefined {
  for (const dir of [Deno.env.get("FLAMEGRAPH_DIR"), "/tmp/FlameGraph"]) {
    if (!dir) continue;
    try {
      Deno.statSync(`${dir}/stackcollapse-perf.pl`);
      Deno.statSync(`${dir}/flamegraph.pl`);
      return dir;
    } catch { /* not there */ }
  }
  return undefined;
}

interface Row {
  recording: string;
  mb: number;
  flame: number;
  flameJobs1: number;
  flameJobs2: number;
  perfScript: number;
  perl?: number;
}

async function measure(name: string, data: string, runs: number): Promise<Row> {
  const deno = Deno.execPath();
  const main = `${ROOT}main.ts`;
  const svg = `${Deno.makeTempDirSync({ prefix: "flame-bench-svg-" })}/out.svg`;
  const flame = `RUST_BACKTRACE=0 ${q(deno)} run -A --quiet ${q(main)} report -q ${q(data)} -o ${
    q(svg)
  }`;
  // One untimed run of each warms the page cache and Deno's module cache.
  await sh(flame);
  await sh(`perf script --no-inline -i ${q(data)} > /dev/null`);
  const row: Row = {
    recording: name,
    mb: Deno.statSync(data).size / 1e6,
    flame: await best(runs, flame),
    flameJobs1: await best(runs, `${flame} --jobs 1`),
    flameJobs2: await best(runs, `${flame} --jobs 2`),
    perfScript: await best(runs, `perf script --no-inline -i ${q(data)} > /dev/null`),
  };
  const fg = flameGraphDir();
  if (fg) {
    row.perl = await best(
      runs,
      `perf script --no-inline -i ${q(data)} | perl ${q(`${fg}/stackcollapse-perf.pl`)} | ` +
        `perl ${q(`${fg}/flamegraph.pl`)} > ${q(svg)}`,
    );
  }
  Deno.removeSync(svg.slice(0, svg.lastIndexOf("/")), { recursive: true });
  return row;
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const rows: Row[] = [];
  rows.push(await measure("C, dwarf,16384", await cRecording(args.seconds), args.runs));
  if (args.bigSeconds > 0) {
    let big: string | undefined;
    try {
      big = await cRecording(args.bigSeconds, 2000);
    } catch (err) {
      console.error(`bench/report: skipping the big recording: ${(err as Error).message}`);
    }
    if (big) rows.push(await measure("C big, 2000 Hz", big, args.runs));
  }
  if (args.python) {
    const py = await pythonRecording(Math.min(args.seconds, 5));
    if (py) {
      try {
        rows.push(await measure("Python 3.13, dwarf,32768", py[0], args.runs));
      } finally {
        py[1]();
      }
    }
  }
  if (args.json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  const s = (x: number | undefined) => (x === undefined ? "-" : `${x.toFixed(2)} s`);
  console.log(
    `best of ${args.runs} runs, ${navigator.hardwareConcurrency} CPUs` +
      (flameGraphDir() ? "" : " (no FlameGraph Perl scripts: set FLAMEGRAPH_DIR)"),
  );
  console.log(
    "recording                  MB     flame report  --jobs 1  --jobs 2   perf script --no-inline  " +
      "Perl pipeline",
  );
  for (const r of rows) {
    console.log(
      `${r.recording.padEnd(26)} ${r.mb.toFixed(0).padStart(4)}   ${s(r.flame).padStart(10)}  ` +
        `${s(r.flameJobs1).padStart(8)}  ${s(r.flameJobs2).padStart(8)}   ${
          s(r.perfScript).padStart(10)
        }               ${s(r.perl).padStart(8)}`,
    );
  }
  for (const r of rows) {
    const vsPerf = r.perfScript / r.flame;
    const line = `${r.recording}: flame report takes ${(r.flame / r.perfScript).toFixed(2)}x ` +
      `the time of 'perf script --no-inline' alone (${vsPerf >= 1 ? "faster" : "slower"})` +
      (r.perl ? `; the Perl pipeline takes ${(r.perl / r.flame).toFixed(1)}x flame's time` : "");
    console.log(line);
  }
}

if (import.meta.main) await main();
