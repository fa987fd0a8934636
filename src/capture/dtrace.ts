/**
 * macOS (and other DTrace systems): the `dtrace` command line that samples user stacks of a
 * command or of running processes, and what its errors mean. The aggregation is written to a
 * file (`-o`), because with `-c` the program shares dtrace's stdout; the file is then streamed
 * into the DTrace collapser.
 *
 *   dtrace -x ustackframes=100 -n 'profile-997 /pid == $target/ { @[ustack(100)] = count(); }'
 *     -o OUT -c 'CMD ARGS'
 */
import { FlameError } from "../errors.ts";

/** What dtrace samples. */
export type DtraceTarget = { command: string[] } | { pids: number[] };

/** Everything the dtrace command needs. */
export interface DtraceSpec {
  dtrace?: string;
  /** Samples per second per CPU (profile-N). */
  freq: number;
  target: DtraceTarget;
  /** Stop after this many seconds (a tick probe that exits). */
  duration?: number;
  /** Where dtrace writes the aggregation. */
  output: string;
  /** Frames per stack (ustackframes and ustack(N)). */
  frames?: number;
}

/** The D program: count user stacks of the target processes at `freq` Hz. */
export function dtraceScript(spec: DtraceSpec): string {
  const frames = spec.frames ?? 100;
  const t = spec.target;
  const predicate = "command" in t || t.pids.length === 1
    ? "pid == $target"
    : t.pids.map((p) => `pid == ${p}`).join(" || ");
  let script = `profile-${spec.freq} /${predicate}/ { @[ustack(${frames})] = count(); }`;
  if (spec.duration !== undefined) {
    // tick-Ns fires once after N seconds (DTrace wants an integer count of a unit).
    const ms = Math.max(1, Math.round(spec.duration * 1000));
    script += ` tick-${ms}ms { exit(0); }`;
  }
  return script;
}

/**
 * `dtrace -c` takes the command as one string that dtrace splits at spaces, so spaces inside
 * an argument are escaped with a backslash (as cargo-flamegraph does).
 */
export function dtraceCommandString(argv: string[]): string {
  return argv.map((a) => a.replace(/\\/g, "\\\\").replace(/ /g, "\\ ")).join(" ");
}

/** The dtrace command line. */
export function dtraceArgv(spec: DtraceSpec): string[] {
  const frames = spec.frames ?? 100;
  const argv = [
    spec.dtrace ?? "dtrace",
    "-q", // no "matched N probes" chatter on the program's terminal
    "-x",
    `ustackframes=${frames}`,
    "-n",
    dtraceScript(spec),
    "-o",
    spec.output,
  ];
  const t = spec.target;
  if ("command" in t) argv.push("-c", dtraceCommandString(t.command));
  else if (t.pids.length === 1) argv.push("-p", String(t.pids[0]));
  return argv;
}

/** Turns dtrace's complaint into one error with the fix (mostly: run it with sudo). */
export function dtraceFailure(stderr: string): FlameError {
  if (/requires additional privileges|Permission denied|not permitted|must be root/i.test(stderr)) {
    return new FlameError(
      "dtrace is not permitted to trace (it needs root)",
      1,
      "run flame with sudo: sudo flame run -- CMD (on macOS with SIP, dtrace may also need " +
        "'csrutil enable --without dtrace' from recovery mode)",
    );
  }
  if (/failed to grab pid|No such process/i.test(stderr)) {
    return new FlameError("dtrace could not attach to the process", 1, "check the PID");
  }
  if (/failed to execute|No such file/i.test(stderr)) {
    return new FlameError("dtrace could not start the command", 127, "check the command's path");
  }
  const first = stderr.split("\n").map((l) => l.replace(/^dtrace:\s*/, "").trim()).find((l) =>
    l !== "" && !/system integrity protection/i.test(l)
  );
  return new FlameError(`dtrace failed: ${first ?? "no message"}`);
}
