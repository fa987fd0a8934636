/**
 * Ctrl-C while profiling. A terminal sends SIGINT to the whole foreground process group: flame,
 * perf and the program. The first one stops the program, and flame still draws what was
 * recorded (perf finishes its file, `perf script` ends early and cleanly); a second one aborts
 * at once. flame keeps a listener installed throughout, so Deno never dies of the signal, and
 * forwards it to its children in case it was sent to flame alone (`kill -INT`): perf treats a
 * repeated SIGINT like one. SIGTERM is handled the same way.
 */
import { removeTemporaryFiles, signalsHandledByCaller } from "../io/output.ts";

/** What an interrupt means at this point. */
export type InterruptAction = "stop" | "abort";

/** The first interrupt stops gracefully; any later one aborts. */
export function interruptAction(count: number): InterruptAction {
  return count <= 1 ? "stop" : "abort";
}

/** The exit status a shell reports for a process killed by `signal`. */
export function signalExitCode(signal: Deno.Signal | null | undefined): number {
  const numbers: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGILL: 4,
    SIGTRAP: 5,
    SIGABRT: 6,
    SIGBUS: 7,
    SIGFPE: 8,
    SIGKILL: 9,
    SIGUSR1: 10,
    SIGSEGV: 11,
    SIGUSR2: 12,
    SIGPIPE: 13,
    SIGALRM: 14,
    SIGTERM: 15,
  };
  return 128 + (signal ? numbers[signal] ?? 0 : 0);
}

/** How the profiled program ended. */
export interface ProgramEnding {
  /** flame's exit status: the program's own. */
  code: number;
  /** What happened, when it did not just succeed ("the program exited with status 3"). */
  reason?: string;
  /**
   * The warning to print before the summary. None after Ctrl-C: flame said it was stopping
   * when the interrupt came.
   */
  warning?: string;
}

/** How the program ended: a reason and warning (if it did not just succeed), and the status. */
export function programEnding(
  code: number,
  signal: Deno.Signal | null,
  interrupted: boolean,
  interruptedBy?: Deno.Signal,
): ProgramEnding {
  if (interrupted) {
    return interruptedBy === "SIGTERM"
      ? { code: signalExitCode("SIGTERM"), reason: "stopped by SIGTERM" }
      : { code: signalExitCode("SIGINT"), reason: "stopped by Ctrl-C" };
  }
  const reason = signal
    ? `the program was killed by ${signal}`
    : code !== 0
    ? `the program exited with status ${code}`
    : undefined;
  if (!reason) return { code: 0 };
  return {
    code: signal ? signalExitCode(signal) : code,
    reason,
    warning: `${reason}: the graph shows what it did until then`,
  };
}

/** Sends `signal` to a PID, ignoring a process that is already gone. */
export function signalPid(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(pid, signal);
  } catch { /* already exited */ }
}

/** The processes an interrupt should reach: whatever flame is running right now. */
export interface Interruptible {
  /** Forwards a graceful stop (SIGINT or SIGTERM). */
  stop(signal: Deno.Signal): void;
  /** Ends everything now (the second Ctrl-C); resolves once it has. */
  kill(): void | Promise<void>;
}

/**
 * Listens for SIGINT and SIGTERM for the life of a capture. `target` is what is running in the
 * current phase (perf record, then perf script); `onAbort` runs on the second signal and is
 * expected to clean up and exit.
 */
export class Interrupts {
  count = 0;
  /** The first signal received, if any. */
  signal: Deno.Signal | undefined;
  target: Interruptible | undefined;
  /** What a first interrupt stops at this stage, for the owner's message. */
  stopping = "";
  /** True once an abort began: work that ends now is not to be carried on. */
  aborting = false;
  /** PIDs a hard kill took down (their runtime files are to be removed). */
  readonly killedPids: number[] = [];
  #listeners: [Deno.Signal, () => void][] = [];

  #firstAt = 0;

  /**
   * `onFirst` runs on the first signal, `onAbort` on a later one. A signal within
   * `sameWithinMs` of the first counts as the same one (one stop reaches flame more than once).
   */
  constructor(
    private readonly onFirst: (signal: Deno.Signal) => void,
    private readonly onAbort: (signal: Deno.Signal) => void,
    private readonly sameWithinMs = 0,
  ) {}

  /**
   * Installs the listeners (Deno then no longer dies of these signals), and tells the output
   * writer that signals are handled here.
   */
  install(): this {
    signalsHandledByCaller(true);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      const fn = () => this.#received(sig);
      try {
        Deno.addSignalListener(sig, fn);
        this.#listeners.push([sig, fn]);
      } catch { /* not supported on this OS */ }
    }
    return this;
  }

  /** True once a stop was asked for. */
  get interrupted(): boolean {
    return this.count > 0;
  }

  #received(sig: Deno.Signal): void {
    if (this.count > 0 && performance.now() - this.#firstAt < this.sameWithinMs) return;
    if (this.count === 0) this.#firstAt = performance.now();
    this.count++;
    if (interruptAction(this.count) === "abort") {
      this.aborting = true;
      removeTemporaryFiles(); // an output being written when the abort came
      const killed = this.target?.kill();
      Promise.resolve(killed).finally(() => this.onAbort(sig));
      return;
    }
    this.signal = sig;
    this.onFirst(sig);
    this.target?.stop(sig);
  }

  /** Removes the listeners. */
  dispose(): void {
    for (const [sig, fn] of this.#listeners) {
      try {
        Deno.removeSignalListener(sig, fn);
      } catch { /* already removed */ }
    }
    this.#listeners = [];
    signalsHandledByCaller(false);
  }
}
