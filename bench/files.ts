/**
 * `flame files` against du on the same tree, warm cache.
 *
 *   deno run -A bench/files.ts [DIR]            DIR defaults to /usr
 *   deno run -A bench/files.ts --runs=9 DIR     best of 9 (default 5), runs interleaved
 *   deno run -A bench/files.ts --perl=FG DIR    also time FG/files.pl DIR | FG/flamegraph.pl
 *
 * Times whole processes (Deno start-up included), each with stdout to /dev/null:
 * `flame files --folded DIR` against `du -ab DIR` (the same work: every entry's size, one line
 * each), and `flame files DIR -o FILE` (walk, aggregate, draw). Prints the best wall time of
 * each, the ratio to du (target: at most 1.5x), entries/s, peak RSS, and checks that flame's
 * total equals `du -sb DIR`.
 *
 * Under `make bench` (bench/run.ts sets FLAME_BENCH_HARNESS=1), it does only the stage's own
 * work in this process, walking DIR into folded lines written to /dev/null, and prints
 * entries/s and peak RSS, so the harness row times flame alone.
 */
import { parseArgs } from "node:util";
import { walk } from "../src/files/walk.ts";
import { FoldedLineSink } from "../src/files/sinks.ts";

const TARGET_RATIO = 1.5;
const TIME_BIN = "/usr/bin/time";
const ROOT = new URL("../", import.meta.url).pathname;

/** One finished run: wall seconds, peak RSS in KiB (0 when unknown), exit code. */
interface Run {
  wall: number;
  peakKiB: number;
  code: number;
}

/** Best wall time and highest peak RSS over several runs of one command. */
interface Best {
  label: string;
  wall: number;
  peakKiB: number;
}

function hasGnuTime(): boolean {
  try {
    return Deno.statSync(TIME_BIN).isFile;
  } catch {
    return false;
  }
}

/** Runs `argv` once with stdout to /dev/null, measuring wall time and peak RSS. */
async function runOnce(argv: string[], useTime: boolean): Promise<Run> {
  const rssFile = useTime ? await Deno.makeTempFile({ prefix: "flame-bench-" }) : undefined;
  const full = rssFile ? [TIME_BIN, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const start = performance.now();
  const child = new Deno.Command(full[0], {
    args: full.slice(1),
    stdout: "null",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  let peakKiB = 0;
  const poll = rssFile ? undefined : setInterval(() => {
    peakKiB = Math.max(peakKiB, vmHwm(child.pid));
  }, 10);
  const status = await child.output();
  const wall = (performance.now() - start) / 1000;
  if (poll !== undefined) clearInterval(poll);
  if (rssFile) {
    peakKiB = Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1)) || 0;
    await Deno.remove(rssFile);
  }
  return { wall, peakKiB, code: status.code };
}

/** VmHWM of a live process in KiB, or 0. */
function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs each command `runs` times, interleaved so load changes hit all alike. */
async function compare(
  commands: { label: string; argv: string[] }[],
  runs: number,
): Promise<Best[]> {
  const useTime = hasGnuTime();
  const best: Best[] = commands.map((c) => ({ label: c.label, wall: Infinity, peakKiB: 0 }));
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < commands.length; i++) {
      const run = await runOnce(commands[i].argv, useTime);
      if (run.code !== 0 && !commands[i].label.startsWith("du")) {
        throw new Error(`${commands[i].argv.join(" ")}: exit ${run.code}`);
      }
      best[i].wall = Math.min(best[i].wall, run.wall);
      best[i].peakKiB = Math.max(best[i].peakKiB, run.peakKiB);
    }
  }
  return best;
}

/** Captures a command's stdout. */
async function capture(argv: string[]): Promise<string> {
  const out = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Entries and total of folded lines. */
function foldedSummary(text: string): { entries: number; total: number } {
  let entries = 0;
  let total = 0;
  for (const line of text.split("\n")) {
    if (line === "") continue;
    entries++;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return { entries, total };
}

const flame = (...args: string[]) => [
  Deno.execPath(),
  "run",
  "-A",
  "--quiet",
  `${ROOT}main.ts`,
  "files",
  ...args,
];

/** VmHWM of this process in KiB, or 0. */
function ownPeakKiB(): number {
  return vmHwm(Deno.pid);
}

/** The stage's own work for the harness: `flame files --folded DIR > /dev/null`, in process. */
function stageOnly(dir: string): number {
  const start = performance.now();
  using devNull = Deno.openSync("/dev/null", { write: true });
  const sink = new FoldedLineSink({
    write: (bytes) => {
      for (let off = 0; off < bytes.length;) off += devNull.writeSync(bytes.subarray(off));
    },
  });
  const stats = walk([dir], sink);
  sink.flush();
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `files: ${stats.entries.toLocaleString("en")} entries, ${
      stats.total.toLocaleString("en")
    } bytes in ${seconds.toFixed(3)} s (${
      Math.round(stats.entries / seconds).toLocaleString("en")
    } entries/s, ${stats.method} walk); peak RSS ${(ownPeakKiB() / 1024).toFixed(0)} MiB`,
  );
  return 0;
}

async function main(): Promise<number> {
  if (Deno.env.get("FLAME_BENCH_HARNESS")) return stageOnly(Deno.args[0] ?? "/usr");
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { runs: { type: "string" }, perl: { type: "string" } },
    allowPositionals: true,
  });
  const dir = positionals[0] ?? "/usr";
  const runs = Math.max(1, Number(values.runs ?? 5));
  const svg = await Deno.makeTempFile({ prefix: "flame-bench-", suffix: ".svg" });

  // Warm the cache (and Deno's module cache), and check the totals agree.
  await capture(["du", "-ab", dir]);
  const folded = foldedSummary(await capture(flame("--folded", dir)));
  const duTotal = Number((await capture(["du", "-sb", dir])).split("\t")[0]);

  const commands = [
    { label: "du -ab", argv: ["du", "-ab", dir] },
    { label: "flame files --folded", argv: flame("--folded", dir) },
    { label: "flame files (SVG)", argv: flame(dir, "-o", svg) },
  ];
  if (values.perl) {
    const fg = values.perl.replace(/\/$/, "");
    commands.push({
      label: "files.pl | flamegraph.pl",
      argv: [
        "sh",
        "-c",
        `perl "${fg}/files.pl" "$1" | perl "${fg}/flamegraph.pl" --hash --countname=bytes`,
        "sh",
        dir,
      ],
    });
  }
  const best = await compare(commands, runs);
  const svgBytes = (await Deno.stat(svg)).size;
  await Deno.remove(svg);

  const du = best[0];
  console.log(`flame files vs du on ${dir} (best of ${runs}, warm cache, stdout to /dev/null)`);
  console.log(
    `entries: ${folded.entries.toLocaleString("en")}; total ${
      folded.total.toLocaleString("en")
    } bytes; du -sb ${duTotal.toLocaleString("en")}: ${
      folded.total === duTotal ? "equal" : "DIFFERENT"
    }`,
  );
  console.log("command                      wall s  x du   entries/s   peak RSS MiB");
  for (const b of best) {
    console.log(
      `${b.label.padEnd(27)} ${b.wall.toFixed(3).padStart(6)}  ${
        (b.wall / du.wall).toFixed(2).padStart(4)
      }  ${Math.round(folded.entries / b.wall).toLocaleString("en").padStart(10)}   ${
        b.peakKiB ? (b.peakKiB / 1024).toFixed(0).padStart(6) : "     ?"
      }`,
    );
  }
  const ratio = best[1].wall / du.wall;
  console.log(
    `flame files --folded / du -ab = ${ratio.toFixed(2)}x (target <= ${TARGET_RATIO}x: ${
      ratio <= TARGET_RATIO ? "met" : "missed"
    }); SVG ${(svgBytes / 1e6).toFixed(1)} MB`,
  );
  return folded.total === duTotal ? 0 : 1;
}

Deno.exit(await main());
