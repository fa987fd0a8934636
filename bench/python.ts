/**
 * The Python reader side by side with py-spy (a comparison, not a test):
 *
 *   deno run -A bench/python.ts [--seconds=3] [--runs=3] [--python=PATH] [--no-py-spy]
 *
 * - samples/s sustained on a 50-frame stack, 1 thread and 20 threads, at 100 Hz and at the
 *   highest rate each tool reaches;
 * - the sampler's CPU per sample and its share of a core (getrusage: flame samples in this
 *   process, py-spy is a child);
 * - the target's slowdown: its work rate with no sampler, then with each sampler attached.
 *
 * py-spy comes from `pip install py-spy` into bench/data/py-spy-venv (made on first run; never
 * a dependency of flame or its tests). It runs with --nonblocking, as flame does: neither stops
 * the target. Figures are medians of --runs runs; this machine is shared, so they are noisy.
 */
import { runSampling } from "../src/python/sampling.ts";
import { discoverPython } from "../src/python/discover.ts";
import { median, pyenvPython, pySpy } from "./peers.ts";

const args = new Map(
  Deno.args.filter((a) => a.startsWith("--")).map((a) => {
    const [k, v] = a.slice(2).split("=");
    return [k, v ?? "true"] as const;
  }),
);
const SECONDS = Number(args.get("seconds") ?? 3);
const RUNS = Number(args.get("runs") ?? 3);
const DATA = new URL("./data/", import.meta.url).pathname;
const PYTHON = args.get("python") ?? pyenvPython("3.12.1");

/** The target: THREADS threads, each 50 frames deep, counting work units for SECONDS. */
const TARGET = `
import sys, threading, time
threads, seconds = int(sys.argv[1]), float(sys.argv[2])
counts = [0] * threads
start = threading.Event()
def work(i):
    start.wait()
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        for _ in range(200):
            n += 1
    counts[i] = n
def deep(depth, i):
    if depth > 1:
        return deep(depth - 1, i)
    return work(i)
ts = [threading.Thread(target=deep, args=(50 - 4, i)) for i in range(threads)]
for t in ts: t.start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.readline()
start.set()
for t in ts: t.join()
sys.stdout.write("%d\\n" % sum(counts)); sys.stdout.flush()
`;

const libc = Deno.dlopen("libc.so.6", {
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
});
/** User + system CPU seconds of this process (RUSAGE_SELF) or its reaped children. */
function cpuSeconds(who: "self" | "children"): number {
  const buf = new BigInt64Array(18);
  libc.symbols.getrusage(who === "self" ? 0 : -1, new Uint8Array(buf.buffer));
  return Number(buf[0]) + Number(buf[1]) / 1e6 + Number(buf[2]) + Number(buf[3]) / 1e6;
}

interface Target {
  pid: number;
  go(): Promise<void>;
  /** Work units per second once it finished. */
  rate(): Promise<number>;
}

async function startTarget(threads: number): Promise<Target> {
  const script = `${DATA}python-target.py`;
  await Deno.writeTextFile(script, TARGET);
  const child = new Deno.Command(PYTHON, {
    args: [script, String(threads), String(SECONDS)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the target exited early");
    text += new TextDecoder().decode(value);
  }
  const writer = child.stdin.getWriter();
  return {
    pid: child.pid,
    async go() {
      await writer.write(new TextEncoder().encode("go\n"));
    },
    async rate() {
      let out = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += new TextDecoder().decode(value);
      }
      await writer.close().catch(() => {});
      await child.status;
      return Number(out.trim()) / SECONDS;
    },
  };
}

interface Row {
  tool: string;
  threads: number;
  rate: string;
  /** Ticks (reads of every thread) per second. */
  ticks: number;
  /** Thread stacks per second. */
  samples: number;
  /** Microseconds of CPU per thread stack. */
  cpuPerSample: number;
  /** Percent of one core while sampling (flame: attaching left out, see `attachMs`). */
  core: number;
  /** CPU milliseconds to attach (find the interpreter, read its ELF symbols). */
  attachMs: number;
  /** Work rate relative to no sampler (1 = not slower). */
  speed: number;
}

async function baseline(threads: number): Promise<number> {
  const t = await startTarget(threads);
  await t.go();
  return await t.rate();
}

async function withFlame(threads: number, rate: number, alone: number): Promise<Row> {
  const t = await startTarget(threads);
  await t.go();
  // What attaching costs, measured on its own (runSampling attaches once more itself).
  const a0 = cpuSeconds("self");
  discoverPython(t.pid).memory.close();
  const attach = cpuSeconds("self") - a0;
  const cpu0 = cpuSeconds("self");
  const r = runSampling({ pids: [t.pid], rate, durationMs: SECONDS * 1000 - 100, idle: true });
  const cpu = Math.max(0, cpuSeconds("self") - cpu0 - attach);
  const speed = (await t.rate()) / alone;
  const seconds = (r.endNs - r.startNs) / 1e9;
  return {
    tool: "flame",
    threads,
    rate: rate >= 100_000 ? "max" : `${rate} Hz`,
    ticks: (r.reads - (r.dropped.exited ?? 0)) / seconds,
    samples: r.samples.length / seconds,
    cpuPerSample: (cpu / Math.max(1, r.samples.length)) * 1e6,
    core: (100 * cpu) / seconds,
    attachMs: attach * 1000,
    speed,
  };
}

async function withPySpy(exe: string, threads: number, rate: number, alone: number): Promise<Row> {
  const t = await startTarget(threads);
  const out = `${DATA}py-spy-raw.txt`;
  const cpu0 = cpuSeconds("children");
  const spy = new Deno.Command(exe, {
    args: [
      "record",
      "--pid",
      String(t.pid),
      "--rate",
      String(rate),
      "--duration",
      String(Math.max(1, SECONDS - 1)),
      "--nonblocking",
      "--idle",
      "--format",
      "raw",
      "-o",
      out,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 300));
  await t.go();
  const seconds = Math.max(1, SECONDS - 1);
  await spy.status;
  const cpu = cpuSeconds("children") - cpu0;
  const speed = (await t.rate()) / alone;
  let samples = 0;
  for (const line of Deno.readTextFileSync(out).split("\n")) {
    const m = / (\d+)$/.exec(line);
    if (m) samples += Number(m[1]);
  }
  return {
    tool: "py-spy",
    threads,
    rate: `${rate} Hz`,
    // The target's main thread waits in join(): threads + 1 stacks a tick (--idle).
    ticks: samples / (threads + 1) / seconds,
    samples: samples / seconds,
    cpuPerSample: (cpu / Math.max(1, samples)) * 1e6,
    core: (100 * cpu) / seconds,
    attachMs: NaN,
    speed,
  };
}

function medianRow(rows: Row[]): Row {
  const pick = (k: keyof Row) => median(rows.map((r) => r[k] as number));
  return {
    ...rows[0],
    ticks: pick("ticks"),
    samples: pick("samples"),
    cpuPerSample: pick("cpuPerSample"),
    core: pick("core"),
    attachMs: pick("attachMs"),
    speed: pick("speed"),
  };
}

await Deno.mkdir(DATA, { recursive: true });
console.log(
  `target: ${PYTHON}, ${SECONDS} s a run, median of ${RUNS} runs (load ${
    Deno.loadavg().map((l) => l.toFixed(1)).join(" ")
  })`,
);
const spy = args.has("no-py-spy") ? undefined : pySpy();
if (!spy && !args.has("no-py-spy")) {
  console.log("py-spy could not be installed: its rows are left out");
}
const rows: Row[] = [];
for (const threads of [1, 20]) {
  const alone = median(
    await Promise.all([...Array(RUNS)].map(() => 0)).then(async () => {
      const xs = [];
      for (let i = 0; i < RUNS; i++) xs.push(await baseline(threads));
      return xs;
    }),
  );
  const cases: [string, number][] = [["flame", 100], ["flame", 100_000]];
  if (spy) cases.push(["py-spy", 100], ["py-spy", 10_000]);
  for (const [tool, rate] of cases) {
    const runs: Row[] = [];
    for (let i = 0; i < RUNS; i++) {
      runs.push(
        tool === "flame"
          ? await withFlame(threads, rate, alone)
          : await withPySpy(spy!, threads, rate, alone),
      );
    }
    rows.push(medianRow(runs));
  }
}
const fmt = (n: number, d = 0) => n.toFixed(d).padStart(8);
console.log(
  "tool    threads  rate     ticks/s  stacks/s  µs CPU/stack  % core  attach ms  target speed",
);
for (const r of rows) {
  console.log(
    `${r.tool.padEnd(7)} ${String(r.threads).padStart(7)}  ${r.rate.padEnd(7)} ${fmt(r.ticks)} ${
      fmt(r.samples, 0).padStart(9)
    } ${fmt(r.cpuPerSample, 1).padStart(13)} ${fmt(r.core, 1)} ${
      Number.isNaN(r.attachMs) ? "        -  " : fmt(r.attachMs, 1).padStart(9) + "  "
    }${fmt(r.speed, 3).padStart(12)}`,
  );
}
