/**
 * The splice of Python frames into perf's stacks, measured (a benchmark, not a test):
 *
 *   deno run -A bench/splice.ts [--seconds=3] [--runs=3] [--versions=3.11.7,3.12.1,3.13.0]
 *                               [--no-py-spy]
 *
 * On fixtures/capture/mixed.py (Python functions calling zlib, json and file reads), for each
 * CPython, launched (`flame run`) and attached (`flame record -p`):
 * - the share of samples running Python that hold the whole Python chain from its root, and of
 *   those with zlib's or the read system call's frames, the share under the right function;
 * - the time from the program's end to the written graph, beside `perf script`'s own time on the
 *   same recording (the floor of any pipeline that starts with it) and py-spy's time;
 * - the program's throughput (rounds of work per second) alone, under perf alone at flame's rate
 *   and stack size, and under flame.
 * Runs dist/flame (`make build` first). py-spy comes from `pip install py-spy` into
 * bench/data/py-spy-venv, for comparison only.
 */
import { spliceShares } from "../test/splice_helpers.ts";
import { recordArgv, scriptArgv } from "../src/capture/perf.ts";
import { PYTHON_DWARF_SIZE } from "../src/capture/runtime.ts";
import { median, pyenvPython, pySpy } from "./peers.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FLAME = `${ROOT}dist/flame`;
const MIXED = `${ROOT}fixtures/capture/mixed.py`;

const args = new Map(
  Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string?]).map((
    [k, v],
  ) => [k, v ?? "true"]),
);
const seconds = Number(args.get("seconds") ?? 3);
const runs = Number(args.get("runs") ?? 3);
const versions = (args.get("versions") ?? "3.11.7,3.12.1,3.13.0").split(",");

async function run(argv: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  if (!out.success) {
    throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr).slice(-500)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/**
 * Runs `argv` (a profiler running mixed.py, whose output it passes through) and returns the
 * seconds from mixed.py's last line (`rounds N`, printed as it ends) to the profiler's exit.
 */
async function tailAfterEnd(argv: string[]): Promise<number> {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let ended = NaN;
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stdout) {
    text += dec.decode(chunk);
    if (Number.isNaN(ended) && /rounds \d+/.test(text)) ended = performance.now();
  }
  const status = await child.status;
  const exited = performance.now();
  if (!status.success) throw new Error(`${argv.join(" ")}: ${(await stderr).slice(-500)}`);
  return (exited - ended) / 1000;
}

const pct = (a: number, b: number) => b === 0 ? "-" : `${(100 * a / b).toFixed(1)}%`;

/** Launched: shares, and the tail from the program's end to flame's exit. */
async function launched(python: string, dir: string) {
  const tail = await tailAfterEnd([
    FLAME,
    "run",
    "-q",
    "--keep-data",
    `${dir}/run.data`,
    "-o",
    `${dir}/run.folded`,
    "--",
    python,
    MIXED,
    String(seconds),
    `${dir}/s`,
  ]);
  // perf script as flame runs it, its output thrown away: the floor of the graph's time.
  const t0 = performance.now();
  const script = scriptArgv({ perf: "perf", input: `${dir}/run.data`, inline: false });
  const done = await new Deno.Command(script[0], { args: script.slice(1), stdout: "null" })
    .output();
  if (!done.success) throw new Error(`${script.join(" ")} failed`);
  const script_s = (performance.now() - t0) / 1000;
  return { shares: spliceShares(Deno.readTextFileSync(`${dir}/run.folded`)), tail, script_s };
}

/** Attached: shares. */
async function attached(python: string, dir: string) {
  const child = new Deno.Command(python, { args: [MIXED, "0", `${dir}/a`], stdout: "null" })
    .spawn();
  await new Promise((r) => setTimeout(r, 500));
  try {
    await run([
      FLAME,
      "record",
      "-q",
      "-p",
      String(child.pid),
      "-d",
      String(seconds),
      "-o",
      `${dir}/rec.folded`,
    ]);
  } finally {
    child.kill();
    await child.status;
  }
  return spliceShares(Deno.readTextFileSync(`${dir}/rec.folded`));
}

/** Rounds of work per second: alone, under perf alone, under flame. */
async function throughput(python: string, dir: string) {
  const rounds = (text: string) => Number(/rounds (\d+)/.exec(text)?.[1] ?? NaN) / seconds;
  const alone = rounds(await run([python, MIXED, String(seconds), `${dir}/t1`]));
  // perf alone, as flame runs it for Python (its rate, event, stack size and clock).
  const perf = rounds(
    await run(recordArgv({
      perf: "perf",
      event: "cpu-clock",
      freq: 99,
      callGraph: { mode: "dwarf", size: PYTHON_DWARF_SIZE },
      monotonicClock: true,
      output: `${dir}/t.data`,
      target: { command: [python, MIXED, String(seconds), `${dir}/t2`] },
      quiet: true,
    })),
  );
  const flame = rounds(
    await run([
      FLAME,
      "run",
      "-q",
      "-o",
      `${dir}/t.folded`,
      "--",
      python,
      MIXED,
      String(seconds),
      `${dir}/t3`,
    ]),
  );
  return { alone, perf, flame };
}

/**
 * py-spy's tail from the program's end to its written graph (it samples at 100 Hz); undefined
 * when py-spy failed (it sometimes looks at a program too early to find its interpreter).
 */
async function pySpyTail(spy: string, python: string, dir: string): Promise<number | undefined> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await tailAfterEnd(
        [spy, "record", "-o", `${dir}/spy.svg`, "--", python, MIXED, String(seconds), `${dir}/p`],
      );
    } catch { /* again */ }
  }
  return undefined;
}

const spy = args.has("no-py-spy") ? undefined : pySpy();
const dir = Deno.makeTempDirSync({ prefix: "flame-bench-splice-" });
try {
  console.log(`splice on mixed.py, ${seconds} s runs, medians of ${runs}`);
  console.log(
    "python  | launched: whole, right fn | attached: whole, right fn | end→graph | perf script | " +
      "py-spy end→graph | rounds/s alone, perf, flame",
  );
  for (const version of versions) {
    const python = pyenvPython(version);
    const l = [];
    const a = [];
    const t = [];
    const spyTails = [];
    for (let i = 0; i < runs; i++) {
      // Throughput first: measured after the attach runs, the program alone and under perf ran a
      // third slower on CPython 3.12 and 3.13 here (not when measured on their own).
      t.push(await throughput(python, dir));
      l.push(await launched(python, dir));
      a.push(await attached(python, dir));
      const spyTail = spy ? await pySpyTail(spy, python, dir) : undefined;
      if (spyTail !== undefined) spyTails.push(spyTail);
    }
    const share = (
      xs: ReturnType<typeof spliceShares>[],
      f: (s: typeof xs[0]) => [number, number],
    ) => pct(median(xs.map((s) => f(s)[0] / f(s)[1])), 1);
    const whole = (s: ReturnType<typeof spliceShares>): [number, number] => [s.whole, s.python];
    const right = (
      s: ReturnType<typeof spliceShares>,
    ): [number, number] => [s.placed - s.misplaced, s.placed];
    console.log(
      `${version.padEnd(7)} | ${share(l.map((x) => x.shares), whole)}, ` +
        `${share(l.map((x) => x.shares), right)} | ${share(a, whole)}, ${share(a, right)} | ` +
        `${median(l.map((x) => x.tail)).toFixed(2)} s | ${
          median(l.map((x) => x.script_s)).toFixed(2)
        } s | ` +
        `${spyTails.length ? `${median(spyTails).toFixed(2)} s` : "-"} | ` +
        `${median(t.map((x) => x.alone)).toFixed(1)}, ${
          median(t.map((x) => x.perf)).toFixed(1)
        }, ` +
        `${median(t.map((x) => x.flame)).toFixed(1)}`,
    );
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
