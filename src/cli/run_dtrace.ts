/**
 * `flame run` and `flame record` on macOS: DTrace samples the user stacks, its aggregation file
 * is streamed into the DTrace collapser, and the graph is drawn as on Linux. (Not testable on
 * the Linux machines flame is built on; the command construction is unit-tested.)
 */
import { FlameError } from "./errors.ts";
import { info, warn } from "./log.ts";
import { openFile, type ProfileSettings, quote, removeTemp, summaryLine } from "./profile.ts";
import { DtraceCollapser } from "../collapse/dtrace.ts";
import { collapseInput } from "../collapse/stream.ts";
import { openInput } from "../io/input.ts";
import { writeOutput, writeTextOutput } from "../io/output.ts";
import { writeFolded } from "../folded/stacks.ts";
import { renderFoldedStacks } from "../render/mod.ts";
import { dtraceArgv, dtraceFailure, type DtraceTarget } from "../capture/dtrace.ts";
import { Interrupts, programEnding, signalPid } from "../capture/signals.ts";

/** DTrace's profile probe rate: 997 Hz avoids lockstep with 1000 Hz timers. */
const DTRACE_DEFAULT_HZ = 997;

/** Records `target` with dtrace and writes the graph; resolves to flame's exit status. */
export async function runDtrace(
  target: string[] | number[],
  settings: ProfileSettings,
  duration?: number,
): Promise<number> {
  const tempDir = Deno.makeTempDirSync({ prefix: "flame-" });
  const output = `${tempDir}/stacks.txt`;
  const dtTarget: DtraceTarget = typeof target[0] === "number"
    ? { pids: target as number[] }
    : { command: target as string[] };
  const argv = dtraceArgv({
    freq: settings.freq === 99 ? DTRACE_DEFAULT_HZ : settings.freq,
    target: dtTarget,
    duration,
    output,
  });
  if (settings.verbose) info(`$ ${argv.map(quote).join(" ")}`);
  const interrupts = new Interrupts(
    () => info("stopping: the graph is still written (Ctrl-C again to abort)"),
    () => {
      removeTemp(tempDir);
      Deno.exit(130);
    },
  ).install();
  try {
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
      throw (Deno.uid() ?? 0) !== 0 ? dtraceFailure("requires additional privileges") : (
        dtraceFailure("")
      );
    }
    const result = await collapseInput(await openInput(output), () => new DtraceCollapser());
    for (const w of result.warnings) warn(w);
    if (result.samples === 0 || result.stacks.size === 0) {
      throw new FlameError("no samples were recorded", 1, "run the program longer");
    }
    const rendered = renderFoldedStacks(result.stacks, {
      title: `flame: ${target.map(String).join(" ")}`,
      ...settings.render,
    });
    for (const w of rendered.warnings) warn(w);
    await writeTextOutput(settings.output, rendered.svg);
    if (settings.folded) {
      await writeOutput(settings.folded, (out) => writeFolded(result.stacks, out));
    }
    const attach = typeof target[0] === "number";
    const ending = programEnding(status.code, status.signal, interrupts.interrupted);
    if (ending.warning && !attach) warn(ending.warning);
    info(summaryLine(result.samples, seconds, settings.output));
    if (settings.open) openFile(settings.output);
    return attach ? 0 : ending.code;
  } finally {
    interrupts.dispose();
    removeTemp(tempDir);
  }
}
