/**
 * When perf is missing or not allowed to record: one-line errors that say what to install or
 * which setting to change (capture.md §9), and notes about what a non-root recording lacks.
 */
import { FlameError } from "../errors.ts";

/** Exit status for "perf is not installed" (as a shell reports a missing command). */
export const EXIT_NOT_FOUND = 127;

/** The package that provides `perf`, from /etc/os-release and `uname -r`. */
export function perfInstallHint(osRelease: string, kernelRelease: string): string {
  const field = (name: string) => {
    const m = new RegExp(`^${name}=["']?([^"'\\n]*)`, "m").exec(osRelease);
    return m ? m[1].toLowerCase() : "";
  };
  const ids = `${field("ID")} ${field("ID_LIKE")}`;
  if (/\bubuntu\b/.test(ids) || /\bpop\b|\bmint\b/.test(ids)) {
    return `install it: sudo apt-get install linux-tools-${kernelRelease} linux-tools-generic`;
  }
  if (/\bdebian\b/.test(ids)) return "install it: sudo apt-get install linux-perf";
  if (/\b(?:fedora|rhel|centos|rocky|almalinux|amzn)\b/.test(ids)) {
    return "install it: sudo dnf install perf";
  }
  if (/\barch\b/.test(ids)) return "install it: sudo pacman -S perf";
  if (/\b(?:suse|opensuse)\b/.test(ids)) return "install it: sudo zypper install perf";
  if (/\balpine\b/.test(ids)) return "install it: sudo apk add perf";
  return "install your distribution's perf package (linux-perf, linux-tools-$(uname -r) or perf)";
}

/** The error for a missing `perf` binary. */
export function perfMissingError(perf: string, osRelease: string, kernelRelease: string) {
  return new FlameError(
    `${perf} is not installed (flame records with Linux perf)`,
    EXIT_NOT_FOUND,
    perfInstallHint(osRelease, kernelRelease),
  );
}

/** The error for PIDs with no process (never started, or exited). */
export function noSuchProcess(pids: number[]): FlameError {
  return new FlameError(
    `no such process${pids.length > 1 ? "es" : ""}: ${pids.join(", ") || "?"}`,
    1,
    "check the PID (ps -e, pgrep NAME); the process may have exited",
  );
}

/** The error for a process this user may not look into (another user's, or ptrace refused). */
export function notPermitted(pid: number): FlameError {
  const yama = readSysctl("kernel.yama.ptrace_scope");
  return new FlameError(
    `not permitted to profile process ${pid}: it belongs to another user` +
      (yama !== undefined && yama > 0 ? ` (or kernel.yama.ptrace_scope=${yama} forbids it)` : ""),
    1,
    "run flame as that user or as root (sudo flame record -p ...)",
  );
}

/** What was being attempted, for wording permission errors. */
export interface RecordAttempt {
  mode: "run" | "pids" | "all-cpus";
  pids?: number[];
  event: string;
  euid: number;
  /** kernel.perf_event_paranoid, when readable. */
  paranoid?: number;
}

const PERF_ERROR_LINE = /^(?:Error:\s*)?(.+)$/;

/** perf may not record here (perf_event_paranoid, another user's process): a Python target
 * can still be profiled with the interpreter reader. */
export class PerfNotPermitted extends FlameError {
  constructor(message: string, hint: string) {
    super(message, 1, hint);
    this.name = "PerfNotPermitted";
  }
}

/**
 * Turns what a failed `perf record` printed into one FlameError with the fix. Returns a generic
 * error quoting perf's first meaningful line when nothing specific matches.
 */
export function recordFailure(stderr: string, attempt: RecordAttempt): FlameError {
  const paranoid = attempt.paranoid === undefined ? "" : `=${attempt.paranoid}`;
  if (
    /perf_event_paranoid|Access to performance monitoring|No permission to enable|Permission denied/
      .test(stderr)
  ) {
    if (attempt.mode === "all-cpus") {
      return new PerfNotPermitted(
        `perf is not permitted to profile the whole system (kernel.perf_event_paranoid${paranoid})`,
        "run as root (sudo flame record -a ...), or allow it: sudo sysctl kernel.perf_event_paranoid=-1",
      );
    }
    if (attempt.mode === "pids") {
      const which = attempt.pids?.join(",") ?? "";
      return new PerfNotPermitted(
        `perf is not permitted to attach to ${which} (another user's process? ` +
          `kernel.perf_event_paranoid${paranoid})`,
        "run as root or as the process's owner, or lower it: sudo sysctl kernel.perf_event_paranoid=1",
      );
    }
    return new PerfNotPermitted(
      `perf is not permitted to record (kernel.perf_event_paranoid${paranoid})`,
      "run as root (sudo flame run ...), or allow it: sudo sysctl kernel.perf_event_paranoid=1",
    );
  }
  if (/No such process|Couldn't attach|can't find process/i.test(stderr)) {
    return noSuchProcess(attempt.pids ?? []);
  }
  if (/event syntax error|unknown tracepoint|Cannot find PMU|not supported/i.test(stderr)) {
    return new FlameError(
      `perf cannot record event '${attempt.event}' on this machine`,
      2,
      "'perf list' shows the events; cpu-clock works everywhere",
    );
  }
  if (/branch stack sampling/.test(stderr)) {
    return new FlameError(
      "this CPU cannot record --call-graph lbr",
      2,
      "use --call-graph dwarf (or fp)",
    );
  }
  if (/mmap|perf_event_mlock_kb|Cannot allocate memory/i.test(stderr)) {
    return new FlameError(
      "perf could not map its ring buffer (locked-memory limit)",
      1,
      "lower the frequency (-F) or raise it: sudo sysctl kernel.perf_event_mlock_kb=2048",
    );
  }
  const first = stderr.split("\n").map((l) => l.trim()).find((l) =>
    l !== "" && !l.startsWith("[ perf record") && !/^(?:Usage|or):/.test(l) && l !== "Error:"
  );
  const text = first ? PERF_ERROR_LINE.exec(first)![1] : "no message";
  return new FlameError(
    `perf record failed: ${text}`,
    1,
    "run the perf command flame prints with --verbose to see perf's own output",
  );
}

/**
 * Notes about a recording made without full rights: no kernel frames for non-root users at
 * paranoid >= 2, hidden kernel symbols with kptr_restrict. Empty when nothing is lost.
 */
export function privilegeNotes(euid: number, paranoid?: number, kptrRestrict?: number): string[] {
  const notes: string[] = [];
  if (euid !== 0 && paranoid !== undefined && paranoid >= 2) {
    notes.push(
      `kernel frames are not recorded (kernel.perf_event_paranoid=${paranoid}); for them run ` +
        "as root, or: sudo sysctl kernel.perf_event_paranoid=1",
    );
  }
  if (kptrRestrict !== undefined && (kptrRestrict >= 2 || (kptrRestrict === 1 && euid !== 0))) {
    notes.push(
      `kernel symbols are hidden (kernel.kptr_restrict=${kptrRestrict}): ` +
        "sudo sysctl kernel.kptr_restrict=0",
    );
  }
  return notes;
}

/**
 * True when this process may record the kernel whatever kernel.perf_event_paranoid says: it
 * holds CAP_PERFMON (38) or CAP_SYS_ADMIN (21) in its effective set.
 */
export function perfCapable(): boolean {
  try {
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
    if (hex === undefined) return false;
    const caps = BigInt(`0x${hex}`);
    return (caps >> 38n & 1n) === 1n || (caps >> 21n & 1n) === 1n;
  } catch {
    return false;
  }
}

/** The perf to run: `$PERF`, else `perf` on the PATH. */
export function perfCommand(): string {
  return Deno.env.get("PERF") || "perf";
}

/** Reads an integer sysctl from /proc/sys, or undefined. */
export function readSysctl(name: string): number | undefined {
  try {
    const n = Number(Deno.readTextFileSync(`/proc/sys/${name.replaceAll(".", "/")}`).trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** /etc/os-release, or "" (for the install hint). */
export function osRelease(): string {
  try {
    return Deno.readTextFileSync("/etc/os-release");
  } catch {
    return "";
  }
}

/** The running kernel's release (`uname -r`). */
export function kernelRelease(): string {
  try {
    return Deno.readTextFileSync("/proc/sys/kernel/osrelease").trim();
  } catch {
    return "$(uname -r)";
  }
}
