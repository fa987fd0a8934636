/**
 * Throughput and memory of the perf collapser (the work of `flame collapse perf FILE`: read,
 * decode, fold with its default options (Python frames made readable), format the sorted
 * output). `--raw-frames` folds as `flame collapse perf --raw-frames` does.
 *
 *   deno run -A bench/collapse.ts FILE          fold FILE in this process and print one line:
 *                                               MB/s, lines/s, peak RSS (VmHWM)
 *   deno run -A bench/collapse.ts               the 50 MB, varied 50 MB and 500 MB inputs of
 *                                               bench/data/ (made first if missing), each in
 *                                               its own process, then the memory check (500 MB
 *                                               may take at most 1.5x the peak RSS of 50 MB)
 *   deno run -A bench/collapse.ts --perl DIR    also time DIR/stackcollapse-perf.pl on 50 MB
 *
 * Times cover the collapse only, not Deno's start-up. Exit status 1 when the memory check fails.
 */
import { PerfCollapser, type PerfOptions } from "../src/collapse/perf.ts";
import { readableFrameOptions } from "../src/collapse/readable.ts";
import { collapseInput } from "../src/collapse/stream.ts";
import { writeFolded } from "../src/folded/stacks.ts";
import { openInput } from "../src/io/input.ts";
import { Progress } from "../src/log.ts";
import { ensureData } from "./make-data.ts";

/** The largest peak RSS on 500 MB, as a multiple of the peak on 50 MB. */
const MEMORY_LIMIT = 1.5;

/** The process's peak resident set size in KiB (VmHWM), or 0 where /proc is missing. */
function peakRssKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** What one collapse run measured. */
interface Measurement {
  file: string;
  bytes: number;
  lines: number;
  seconds: number;
  samples: number;
  stacks: number;
  peakKiB: number;
}

/** Folds `path` in this process. */
async function measure(path: string, options: Partial<PerfOptions>): Promise<Measurement> {
  const start = performance.now();
  const input = await openInput(path);
  const collapser = new PerfCollapser(options);
  const result = await collapseInput(input, () => collapser, new Progress(false));
  let outputChars = 0;
  await writeFolded(result.stacks, {
    write(text: string) {
      outputChars += text.length;
      return Promise.resolve();
    },
  });
  const seconds = (performance.now() - start) / 1000;
  if (outputChars === 0) throw new Error(`${path}: no output`);
  return {
    file: path,
    bytes: input.size ?? 0,
    lines: collapser.lineCount,
    seconds,
    samples: result.samples,
    stacks: result.stacks.size,
    peakKiB: peakRssKiB(),
  };
}

function describe(m: Measurement): string {
  const mb = m.bytes / 1e6;
  const name = m.file.slice(m.file.lastIndexOf("/") + 1);
  return `collapse ${name}: ${mb.toFixed(1)} MB, ${m.lines.toLocaleString("en")} lines, ` +
    `${m.samples.toLocaleString("en")} samples, ${m.stacks} stacks in ${m.seconds.toFixed(3)} s: ` +
    `${(mb / m.seconds).toFixed(0)} MB/s, ${(m.lines / m.seconds / 1e6).toFixed(2)} M lines/s, ` +
    `peak RSS ${(m.peakKiB / 1024).toFixed(1)} MiB`;
}

/** Runs this script on `path` in a child process and returns its measurement. */
async function measureInChild(path: string, flags: string[]): Promise<Measurement> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, "--json", ...flags, path],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`collapse of ${path} failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Times the Perl reference on `path` (output discarded). */
async function measurePerl(dir: string, path: string): Promise<string> {
  const script = `${dir}/stackcollapse-perf.pl`;
  const start = performance.now();
  const out = await new Deno.Command("perl", { args: [script, path], stdout: "null" }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!out.success) return `perl ${script}: exit ${out.code}`;
  const { size } = await Deno.stat(path);
  return `perl stackcollapse-perf.pl: ${(size / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s: ` +
    `${(size / 1e6 / seconds).toFixed(0)} MB/s (process wall time, start-up included)`;
}

async function main(args: string[]): Promise<number> {
  const json = args.includes("--json");
  const raw = args.includes("--raw-frames");
  const flags = raw ? ["--raw-frames"] : [];
  const options = readableFrameOptions({ python: !raw, js: false });
  const perlAt = args.indexOf("--perl");
  const perlDir = perlAt === -1 ? undefined : args[perlAt + 1];
  const files = args.filter((a, i) => !a.startsWith("--") && (perlAt === -1 || i !== perlAt + 1));
  if (files.length === 1) {
    const m = await measure(files[0], options);
    console.log(json ? JSON.stringify(m) : describe(m));
    return 0;
  }
  const data = await ensureData();
  const small = await measureInChild(data.files["perf-50mb"].path, flags);
  console.log(describe(small));
  console.log(describe(await measureInChild(data.files["perf-varied-50mb"].path, flags)));
  const large = await measureInChild(data.files["perf-500mb"].path, flags);
  console.log(describe(large));
  const ratio = large.peakKiB / small.peakKiB;
  const ok = ratio <= MEMORY_LIMIT;
  console.log(
    `memory: peak RSS 500 MB / 50 MB = ${ratio.toFixed(2)}x (limit ${MEMORY_LIMIT}x): ` +
      (ok ? "ok" : "FAILED"),
  );
  if (perlDir !== undefined) console.log(await measurePerl(perlDir, small.file));
  return ok ? 0 : 1;
}

Deno.exit(await main(Deno.args));
