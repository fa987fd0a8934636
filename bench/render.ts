/**
 * Renderer benchmark: folded file in, SVG out, timed as `flame svg FILE -o OUT` runs.
 *
 *   deno run -A bench/render.ts [FILE] [--runs N] [--e2e N] [--flamegraph-pl PATH]
 *
 * In process: one run of the `flame svg` command (read, parse, merge, lay out, write the
 * document, encode and write it), JIT cold as it always is for a user; --runs N adds N warm
 * runs and prints their median. End to end: `deno run -A main.ts svg FILE -o OUT`, process
 * start to exit (Deno's start-up and module loading included: what a user waits for), 3
 * warm-up runs then N (--e2e, default 10; 0 skips it, as does bench/run.ts, which times this
 * whole process itself), like `hyperfine -N --warmup 3`.
 *
 * Without FILE a realistic profile (deep stacks with shared prefixes, 16k unique stacks, about
 * 5.6 MB, sorted as collapsers write it) is generated once into bench/data/generated.folded.
 * Prints MB/s, lines/s, SVG bytes and peak RSS; with --flamegraph-pl, also times that script on
 * the same file for comparison. `make bench` runs it on bench/data/stacks-16k.folded.
 */
import { readFoldedSync } from "../src/folded/parse.ts";
import { svgCommand } from "../src/cli/svg.ts";
import { StackColumns } from "../src/render/tree.ts";
import { prng } from "../test/prng.ts";

const PACKAGES = ["org/kafka", "io/netty", "com/app", "java/util"];
const CLASSES = ["Dispatcher", "Handler", "Pipeline", "Codec", "Buffer", "Scheduler", "Worker"];
const VERBS = ["run", "handle", "process", "read", "write", "encode", "decode", "flush", "poll"];
const NATIVE = ["malloc", "memcpy", "__memmove_avx_unaligned_erms", "pthread_mutex_lock", "free"];
const KERNEL = ["do_syscall_64", "entry_SYSCALL_64_after_hwframe", "__x64_sys_read", "vfs_read"];

/** A frame name in the style of a JVM/native/kernel profile. */
function frameName(r: () => number, depth: number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const x = r();
  if (depth > 20 && x < 0.15) return `${pick(KERNEL)}_[k]`;
  if (x < 0.3) return `${pick(NATIVE)}`;
  if (x < 0.5) return `std::${pick(CLASSES).toLowerCase()}<int>::${pick(VERBS)}`;
  return `${pick(PACKAGES)}/${pick(CLASSES)}.${pick(VERBS)}${Math.floor(r() * 40)}`;
}

/**
 * Generates `stacks` unique folded stacks from a random call tree of about three frames per
 * stack: chains grow from random earlier frames, so stacks are deep and share long prefixes.
 */
export function generateProfile(stacks = 16_000, seed = 42): string {
  const r = prng(seed);
  const parent: number[] = [-1];
  const depth: number[] = [0];
  const names: string[] = [""];
  const total = stacks * 3;
  for (let i = 1; i < total; i++) {
    // Mostly extend the newest chain; sometimes branch off any earlier frame.
    const p = i === 1 ? 0 : r() < 0.45 ? i - 1 : Math.floor(r() * i);
    const d = p === 0 ? 1 : depth[p] + 1;
    if (d > 120) {
      parent.push(0);
      depth.push(1);
    } else {
      parent.push(p);
      depth.push(d);
    }
    names.push(depth[i] === 1 ? ["java", "kworker/0:1", "swapper"][i % 3] : frameName(r, depth[i]));
  }
  const chosen = new Set<number>();
  while (chosen.size < stacks) chosen.add(1 + Math.floor(r() * (total - 1)));
  const lines: string[] = [];
  for (const leaf of chosen) {
    const path: string[] = [];
    for (let f = leaf; f > 0; f = parent[f]) path.push(names[f]);
    const count = Math.max(1, Math.floor(1 / (r() ** 1.3 + 0.0005)));
    lines.push(`${path.reverse().join(";")} ${count}\n`);
  }
  // Sorted, as collapsers write folded output.
  return lines.sort().join("");
}

function peakRssMiB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One `flame svg FILE -o OUT` in this process, in ms. */
async function renderOnce(file: string, out: string): Promise<number> {
  const t0 = performance.now();
  await svgCommand.run([file, "-o", out]);
  return performance.now() - t0;
}

/** The folded lines of `file` (the stacks the graph is drawn from). */
function countLines(file: string): number {
  const lines = new StackColumns();
  using input = Deno.openSync(file);
  readFoldedSync(input, lines);
  return lines.lines;
}

/** Wall times of `deno run -A main.ts svg FILE -o OUT` as separate processes, in ms. */
async function endToEnd(file: string, out: string, runs: number): Promise<number[]> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "svg", file, "-o", out],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  });
  const times: number[] = [];
  for (let i = -3; i < runs; i++) {
    const t0 = performance.now();
    const result = await command.output();
    const ms = performance.now() - t0;
    if (!result.success) throw new Error(new TextDecoder().decode(result.stderr).trim());
    if (i >= 0) times.push(ms);
  }
  return times;
}

/** Mean, standard deviation, median and minimum. */
function summary(times: number[]): { mean: number; sd: number; median: number; min: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const sd = Math.sqrt(times.reduce((a, t) => a + (t - mean) ** 2, 0) / times.length);
  return { mean, sd, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0] };
}

async function timeFlamegraphPl(script: string, file: string): Promise<void> {
  const out = await Deno.makeTempFile({ suffix: ".svg" });
  const t0 = performance.now();
  const child = new Deno.Command("perl", {
    args: [script, file],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const bytes = (await child.output()).stdout;
  const ms = performance.now() - t0;
  await Deno.writeFile(out, bytes);
  const size = (await Deno.stat(file)).size;
  console.log(
    `flamegraph.pl: ${ms.toFixed(0)} ms, ${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s, ` +
      `SVG ${bytes.byteLength.toLocaleString("en-US")} bytes (${out})`,
  );
}

if (import.meta.main) {
  const args = [...Deno.args];
  const take = (flag: string) => {
    const i = args.indexOf(flag);
    if (i === -1) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const runs = Number(take("--runs") ?? 0);
  const e2e = Deno.env.get("FLAME_BENCH_HARNESS") ? 0 : Number(take("--e2e") ?? 10);
  const fgpl = take("--flamegraph-pl");
  let file = args[0];
  if (!file) {
    file = new URL("./data/generated.folded", import.meta.url).pathname;
    try {
      await Deno.stat(file);
    } catch {
      await Deno.mkdir(new URL("./data/", import.meta.url), { recursive: true });
      await Deno.writeTextFile(file, generateProfile());
      console.log(`generated ${file}`);
    }
  }
  const out = await Deno.makeTempFile({ suffix: ".svg" });
  const size = (await Deno.stat(file)).size;
  // The first run is what `flame svg` does: cold code, one pass.
  const cold = await renderOnce(file, out);
  const rss = peakRssMiB();
  const lines = countLines(file);
  const rate = (ms: number) =>
    `${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s, ` +
    `${Math.round(lines / (ms / 1000)).toLocaleString("en-US")} lines/s`;
  const svgBytes = (await Deno.stat(out)).size;
  console.log(`input: ${file}, ${(size / 1e6).toFixed(2)} MB, ${lines} lines`);
  console.log(
    `flame (first run, in process): ${cold.toFixed(1)} ms, ${rate(cold)}, ` +
      `SVG ${svgBytes.toLocaleString("en-US")} bytes, peak RSS ${rss.toFixed(0)} MiB`,
  );
  if (runs > 0) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await renderOnce(file, out));
    const { median, min } = summary(times);
    console.log(
      `flame (warm, ${runs} runs): median ${median.toFixed(1)} ms (min ${min.toFixed(1)}), ` +
        rate(median),
    );
  }
  if (e2e > 0) {
    const { mean, sd, median, min } = summary(await endToEnd(file, out, e2e));
    console.log(
      `flame (end to end, deno run -A main.ts svg FILE -o OUT, ${e2e} runs): ` +
        `mean ${mean.toFixed(1)} ms ± ${sd.toFixed(1)} (median ${median.toFixed(1)}, ` +
        `min ${min.toFixed(1)}), ${rate(mean)}`,
    );
  }
  await Deno.remove(out);
  if (fgpl) await timeFlamegraphPl(fgpl, file);
}
