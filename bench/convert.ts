/**
 * Format conversion benchmark: one folded file converted to every output format flame writes,
 * in this process, as `flame convert FILE -o OUT` runs (read, detect, parse into the profile
 * model, write), each format once and JIT-cold for the first, as for a user.
 *
 *   deno run -A bench/convert.ts [FILE]
 *
 * `make bench` runs it on bench/data/stacks-16k.folded (16,000 distinct stacks, about 5.9 MB).
 * Prints, per output format, the time, MB/s of input and the output's size; then peak RSS.
 */
import { convertCommand } from "../src/cli/convert.ts";
import { ensureData } from "./make-data.ts";

const FORMATS: [string, string][] = [
  ["folded", "out.folded"],
  ["speedscope", "out.speedscope.json"],
  ["pprof", "out.pb.gz"],
  ["summary", "out.txt"],
  ["json", "out.json"],
];

const input = Deno.args[0] ?? (await ensureData()).files["stacks-16k"].path;
const bytes = Deno.statSync(input).size;
const dir = Deno.makeTempDirSync({ prefix: "flame-bench-convert-" });
try {
  for (const [format, name] of FORMATS) {
    const out = `${dir}/${name}`;
    const t0 = performance.now();
    const code = await convertCommand.run([input, "-q", "-o", out]);
    const s = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`convert to ${format} exited ${code}`);
    const size = Deno.statSync(out).size;
    console.log(
      `convert ${input.split("/").pop()} → ${format}: ${s.toFixed(3)} s, ` +
        `${(bytes / 1e6 / s).toFixed(1)} MB/s in, ${(size / 1e6).toFixed(2)} MB out`,
    );
  }
} finally {
  Deno.removeSync(dir, { recursive: true });
}
const status = Deno.readTextFileSync("/proc/self/status");
console.log(`peak RSS ${(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]) / 1024).toFixed(1)} MiB`);
