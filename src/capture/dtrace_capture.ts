/**
 * Capture on macOS: DTrace samples the user stacks of a command or of running processes, its
 * aggregation is streamed into the DTrace collapser. (Not testable on the Linux machines flame
 * is built on; the command construction and the parse of recorded output are unit-tested.)
 */
import { FlameError } from "../errors.ts";
import { warn } from "../log.ts";
import { commandLabel } from "../format.ts";
import { emptyProfile } from "../profile/profile.ts";
import { DtraceCollapser } from "../collapse/dtrace.ts";
import { collapseInput } from "../collapse/stream.ts";
import { openInput } from "../io/input.ts";
import {
  type CaptureOptions,
  type CaptureResult,
  type CaptureTarget,
  DEFAULT_FREQ,
} from "./mod.ts";
import { withCapture } from "./mod.ts";
import { commandEcho } from "./record.ts";
import { dtraceArgv, dtraceFailure, type DtraceTarget } from "./dtrace.ts";
import { programEnding, signalPid } from "./signals.ts";

/** DTrace's profile probe rate: 997 Hz avoids lockstep with 1000 Hz timers. */
const DTRACE_DEFAULT_HZ = 997;

/** Records a command or processes with dtrace (not the whole system, not a report). */
export async function captureWithDtrace(
  target: CaptureTarget,
  options: CaptureOptions,
): Promise<CaptureResult> {
  if (target.kind !== "run" && target.kind !== "attach") {
    throw new FlameError(`${target.kind === "system" ? "-a" : "report"} needs Linux perf`);
  }
  const attach = target.kind === "attach";
  const dtTarget: DtraceTarget = attach ? { pids: target.pids } : { command: target.command };
  const duration = attach ? target.duration : undefined;
  // DTrace aggregates in the kernel: a high rate costs little, unlike perf's DWARF stacks.
  const freq = options.freq === DEFAULT_FREQ ? DTRACE_DEFAULT_HZ : options.freq;
  const stopping = `stopping the ${attach ? "recording" : "program"}: the graph is still written`;
  return await withCapture(stopping, async (tempDir, interrupts) => {
    const output = `${tempDir}/stacks.txt`;
    const argv = dtraceArgv({ freq, target: dtTarget, duration, output });
    commandEcho(options.verbose)?.(argv);
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
      ? `flame record: ${target.pids.join(", ")}`
      : `flame run: ${commandLabel(target.command)}`;
    const profile = emptyProfile("samples", { name: title, producer: "dtrace" });
    profile.stacks = result.stacks;
    return {
      profile,
      samples: result.samples,
      seconds,
      freq,
      // An attach leaves the processes running: how dtrace ended is no program's status.
      ending: attach
        ? undefined
        : programEnding(status.code, status.signal, interrupts.interrupted, interrupts.signal),
      runtimes: [],
      title,
      subtitle: "",
    };
  });
}
