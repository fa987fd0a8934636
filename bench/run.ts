/**
 * `make bench`: throughput and peak memory of each stage of flame.
 *
 *   deno run -A bench/run.ts [--only=collapse,render] [--runs=N] [--force-data] [--json]
 *
 * It makes the inputs in `bench/data/` if they are missing (see `make-data.ts`). Then it runs each
 * stage's benchmark script as its own `deno run -A` process, once per input, and prints one table
 * row per run: wall time of the whole process (Deno start-up included; the `startup` row is that
 * cost alone), input MB/s, lines (or entries)/s, and the process's peak RSS. Stage scripts are
 * owned by the stages. A script that does not exist yet is skipped, with a note.
 */
import { type DataFile, type DataName, ensureData, type Manifest } from "./make-data.ts";

/** A stage benchmark: a script in `bench/` and the inputs it is run on, one run each. */
export interface Stage {
  /** Stage name shown in the table. */
  name: string;
  /** Script file in `bench/`; `null` for the built-in start-up baseline. */
  script: string | null;
  /** Inputs passed as the single argument; `null` runs the script without arguments. */
  inputs: (DataName | null)[];
}

/** The stages, in the order they run. */
export const STAGES: Stage[] = [
  { name: "startup", script: null, inputs: [null] },
  {
    name: "collapse",
    script: "collapse.ts",
    inputs: ["perf-50mb", "perf-varied-50mb", "perf-500mb"],
  },
  { name: "render", script: "render.ts", inputs: ["stacks-16k"] },
  { name: "convert", script: "convert.ts", inputs: ["stacks-16k"] },
  { name: "files", script: "files.ts", inputs: ["tree"] },
  { name: "report", script: "report.ts", inputs: [null] },
];

/** What one run measured. */
export interface RunResult {
  stage: string;
  input: string;
  /** Input bytes (0 when the run has no input). */
  bytes: number;
  /** Input lines or entries (0 when the run has no input). */
  items: number;
  unit: string;
  /** Best wall time over the runs, in seconds. */
  wallSeconds: number;
  /** Highest peak RSS over the runs, in bytes; null when it could not be measured. */
  peakRssBytes: number | null;
  /** Exit code of the last run (0 = ok). */
  code: number;
  /** The last run's stdout and stderr, trimmed: what the stage script reported. */
  output: string;
}

/** Options from the command line. */
export interface Options {
  only: string[] | null;
  runs: number;
  forceData: boolean;
  json: boolean;
}

const BENCH_DIR = new URL(".", import.meta.url).pathname;
const REPO_DIR = new URL("..", import.meta.url).pathname;
const TIME_BIN = "/usr/bin/time";
/** The memory check of the collapse stage: 500 MB in, at most this times the 50 MB peak. */
const RSS_GROWTH_LIMIT = 1.5;

/** Parses `--only=a,b`, `--runs=N`, `--force-data`, `--json`. */
export function parseOptions(args: string[]): Options {
  const opts: Options = { only: null, runs: 1, forceData: false, json: false };
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--only" && value) opts.only = value.split(",");
    else if (key === "--runs" && Number(value) >= 1) opts.runs = Math.floor(Number(value));
    else if (arg === "--force-data") opts.forceData = true;
    else if (arg === "--json") opts.json = true;
    else throw new Error(`bench: unknown argument ${arg}`);
  }
  return opts;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The command line of one run: the stage script (or an empty program) under Deno. */
function stageCommand(stage: Stage, input: DataFile | null): string[] {
  const deno = Deno.execPath();
  if (stage.script === null) return [deno, "eval", "0"];
  const args = [deno, "run", "-A", `${BENCH_DIR}${stage.script}`];
  return input ? [...args, input.path] : args;
}

/** Peak RSS of a finished child from `/usr/bin/time -f %M` (KiB) output, in bytes. */
function parseTimeRss(text: string): number | null {
  const lines = text.trim().split("\n");
  const kib = Number(lines[lines.length - 1]);
  return Number.isFinite(kib) && kib > 0 ? kib * 1024 : null;
}

/** Reads VmHWM (peak RSS) of a live process, in bytes; null once it has exited. */
async function readVmHwm(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs a command once: wall time, peak RSS, exit code and output. */
async function runOnce(
  argv: string[],
  useTime: boolean,
): Promise<{ wall: number; rss: number | null; code: number; output: string }> {
  const rssFile = useTime ? await Deno.makeTempFile({ prefix: "flame-bench-rss-" }) : null;
  const full = rssFile ? [TIME_BIN, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const start = performance.now();
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    cwd: REPO_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // FLAME_BENCH_HARNESS: a stage script that can also compare itself against other tools
    // (bench/files.ts runs du) does only its own work, so this row times just that.
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", FLAME_BENCH_HARNESS: "1" },
  }).spawn();
  let hwm: number | null = null;
  const sample = async () => {
    hwm = (await readVmHwm(child.pid)) ?? hwm;
  };
  if (!rssFile) await sample();
  const poll = rssFile ? null : setInterval(sample, 20);
  const out = await child.output();
  const wall = (performance.now() - start) / 1000;
  if (poll !== null) clearInterval(poll);
  let rss: number | null = hwm;
  if (rssFile) {
    rss = parseTimeRss(await Deno.readTextFile(rssFile));
    await Deno.remove(rssFile);
  }
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { wall, rss, code: out.code, output: text.trim() };
}

/** Runs one stage on one input `runs` times; keeps the best wall time and the highest peak RSS. */
async function runStage(
  stage: Stage,
  input: DataFile | null,
  inputName: string,
  runs: number,
  useTime: boolean,
): Promise<RunResult> {
  const argv = stageCommand(stage, input);
  let best = Infinity;
  let peak: number | null = null;
  let last = { code: 0, output: "" };
  for (let i = 0; i < runs; i++) {
    const r = await runOnce(argv, useTime);
    best = Math.min(best, r.wall);
    if (r.rss !== null) peak = Math.max(peak ?? 0, r.rss);
    last = r;
    if (r.code !== 0) break;
  }
  return {
    stage: stage.name,
    input: inputName,
    bytes: input?.bytes ?? 0,
    items: input?.items ?? 0,
    unit: input?.unit ?? "",
    wallSeconds: best,
    peakRssBytes: peak,
    code: last.code,
    output: last.output,
  };
}

/** Runs every selected stage whose script exists; notes go to `notes`. */
export async function runAll(
  manifest: Manifest,
  opts: Options,
  notes: string[],
): Promise<RunResult[]> {
  const useTime = await exists(TIME_BIN);
  if (!useTime) notes.push(`${TIME_BIN} not found: peak RSS polled from /proc/PID/status VmHWM`);
  const results: RunResult[] = [];
  for (const stage of STAGES) {
    if (opts.only && !opts.only.includes(stage.name)) continue;
    if (stage.script && !(await exists(BENCH_DIR + stage.script))) {
      notes.push(`${stage.name}: skipped, bench/${stage.script} does not exist yet`);
      continue;
    }
    for (const name of stage.inputs) {
      const input = name ? manifest.files[name] : null;
      const label = name ? input!.path.slice(input!.path.lastIndexOf("/") + 1) : "-";
      console.error(`bench: ${stage.name} ${label} ...`);
      results.push(await runStage(stage, input, label, opts.runs, useTime));
    }
  }
  return results;
}

function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/** One table row's cells. */
function rowCells(r: RunResult): string[] {
  const mbs = r.bytes ? fixed(r.bytes / 1e6 / r.wallSeconds, 1) : "-";
  const perSec = r.items ? Math.round(r.items / r.wallSeconds).toLocaleString("en-US") : "-";
  return [
    r.stage,
    r.input,
    r.bytes ? fixed(r.bytes / 1e6, 1) : "-",
    r.items ? `${r.items.toLocaleString("en-US")} ${r.unit}` : "-",
    fixed(r.wallSeconds, 2),
    mbs,
    perSec,
    r.peakRssBytes === null ? "?" : fixed(r.peakRssBytes / 1048576, 0),
    r.code === 0 ? "ok" : `FAILED (exit ${r.code})`,
  ];
}

/** The results as an aligned text table. */
export function formatTable(results: RunResult[]): string {
  const head = [
    "stage",
    "input",
    "MB",
    "lines/entries",
    "wall s",
    "MB/s",
    "items/s",
    "peak RSS MiB",
    "status",
  ];
  const rows = [head, ...results.map(rowCells)];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 || i === 8 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ").trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)]
    .join("\n");
}

/** The collapse memory check: peak RSS on 500 MB within RSS_GROWTH_LIMIT × the 50 MB peak. */
export function memoryCheck(results: RunResult[]): string | null {
  const of = (input: string) =>
    results.find((r) => r.stage === "collapse" && r.input === input && r.code === 0);
  const small = of("perf-50mb.txt");
  const large = of("perf-500mb.txt");
  if (!small?.peakRssBytes || !large?.peakRssBytes) return null;
  const ratio = large.peakRssBytes / small.peakRssBytes;
  const verdict = ratio <= RSS_GROWTH_LIMIT ? "ok" : "FAILED";
  return `collapse memory: peak RSS 500 MB / 50 MB = ${ratio.toFixed(2)}x ` +
    `(limit ${RSS_GROWTH_LIMIT}x): ${verdict}`;
}

/** The stage scripts' own output, indented under a heading per run. */
function formatOutputs(results: RunResult[]): string {
  return results
    .filter((r) => r.output && r.stage !== "startup")
    .map((r) => `${r.stage} ${r.input}:\n${r.output.replace(/^/gm, "  ")}`)
    .join("\n");
}

const USAGE =
  "usage: deno run -A bench/run.ts [--only=STAGE,...] [--runs=N] [--force-data] [--json]";

async function main(args: string[]): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(args);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const manifest = await ensureData({ force: opts.forceData });
  const notes: string[] = [];
  const results = await runAll(manifest, opts, notes);
  const check = memoryCheck(results);
  if (opts.json) {
    console.log(JSON.stringify({ results, notes, memoryCheck: check }, null, 2));
  } else {
    console.log(formatTable(results));
    if (check) console.log(`\n${check}`);
    if (notes.length) console.log(`\n${notes.map((n) => `note: ${n}`).join("\n")}`);
    const outputs = formatOutputs(results);
    if (outputs) console.log(`\nstage output:\n${outputs}`);
  }
  const failed = results.some((r) => r.code !== 0) || (check?.endsWith("FAILED") ?? false);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
