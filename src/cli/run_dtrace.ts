/**
 * `flame run` and `flame record` on macOS: DTrace samples the user stacks, its aggregation file
 * is streamed into the DTrace collapser, and the graph is drawn as on Linux. (Not testable on
 * the Linux machines flame is built on; the command construction is unit-tested.)
 */
import { FlameError } from "../errors.ts";
import { warn } from "../log.ts";
import {
  commandEcho,
  commandLabel,
  DEFAULT_FREQ,
  type ProfileSettings,
  withCapture,
} from "./profile.ts";
import { drawAndWrite, endCapture } from "./recording.ts";
import { DtraceCollapser } from "../collapse/dtrace.ts";
import { collapseInput } from "../collapse/stream.ts";
import { openInput } from "../io/input.ts";
import { dtraceArgv, dtraceFailure, type DtraceTarget } from "../capture/dtrace.ts";
import { programEnding, signalPid } from "../capture/signals.ts";

/** DTrace's profile probe rate: 997 Hz avoids lockstep with 1000 Hz timers. */
const DTRACE_DEFAULT_HZ = 997;

/** Records `target` with dtrace and writes the graph; resolves to flame's exit status. */
export async function runDtrace(
  target: string[] | number[],
  settings: ProfileSettings,
  duration?: number,
): Promise<number> {
  const attach = typeof target[0] === "number";
  const dtTarget: DtraceTarget = attach
    ? { pids: target as number[] }
    : { command: target as string[] };
  // DTrace aggregates in the kernel: a high rate costs little, unlike perf's DWARF stacks.
  const freq = settings.freq === DEFAULT_FREQ ? DTRACE_DEFAULT_HZ : settings.freq;
  const stopping = `stopping the ${attach ? "recording" : "program"}: the graph is still written`;
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const output = `${tempDir}/stacks.txt`;
    const argv = dtraceArgv({ freq, target: dtTarget, duration, output });
    commandEcho(settings.verbose)?.(argv);
    const started = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(argv[0], {
        args: argv.slice(1),
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) {
        throw new FlameError("dtrace is not installed", 127, "flame needs dtrace on this system");
      }
      throw err;
    }
    interrupts.target = {
      stop: (sig) => signalPid(child.pid, sig),
      kill: () => signalPid(child.pid, "SIGKILL"),
    };
    const status = await child.status;
    interrupts.target = undefined;
    const seconds = (performance.now() - started) / 1000;
    let size = 0;
    try {
      size = Deno.statSync(output).size;
    } catch { /* nothing written */ }
    if (size === 0 && !status.success) {
      throw dtraceFailure((Deno.uid() ?? 0) !== 0 ? "requires additional privileges" : "");
    }
    const result = await collapseInput(await openInput(output), () => new DtraceCollapser());
    for (const w of result.warnings) warn(w);
    if (result.samples === 0 || result.stacks.size === 0) {
      throw new FlameError("no samples were recorded", 1, "run the program longer");
    }
    const title = attach
      ? `flame record: ${target.join(", ")}`
      : `flame run: ${commandLabel(target as string[])}`;
    await drawAndWrite(result.stacks, { title, ...settings.render }, settings);
    const ending = programEnding(status.code, status.signal, interrupts.interrupted);
    // An attach leaves the processes running: how dtrace ended is no program's status.
    return endCapture(
      { samples: result.samples, seconds, freq },
      settings,
      attach ? undefined : ending,
    );
  });
}
