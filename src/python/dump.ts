/**
 * A one-off look at every thread of a Python process (`flame dump`): each thread's stack,
 * innermost last, with files and lines, thread ids and names, and whether it runs, idles or
 * holds the GIL. The text form quotes every name read from the process, so a hostile file or
 * function name cannot put escape sequences on the terminal.
 */
import { FlameError } from "../errors.ts";
import { showable } from "../log.ts";
import { discoverPython, noProcess, versionText } from "./discover.ts";
import { MemoryError, processExists } from "./memory.ts";
import { TornRead } from "./objects.ts";
import { type PyFrame, PythonReader, type PyThread, type ReadOptions } from "./reader.ts";
import { commandLine, readThreadNames, threadComm } from "./thread_names.ts";

/** One thread in a dump. */
export interface DumpThread {
  tid?: number;
  ident: number;
  /** Python's thread name, else the kernel's (`comm`). */
  name?: string;
  gil: boolean;
  state: PyThread["state"];
  /** Outermost first, innermost last. */
  frames: PyFrame[];
}

/** What `flame dump` shows of one process. */
export interface ProcessDump {
  pid: number;
  /** The command line (NULs as spaces). */
  command: string;
  version: string;
  /** The file the interpreter is in. */
  binary: string;
  threads: DumpThread[];
}

/** Reads `pid`'s threads, retrying a read torn by the running program. */
export function readThreadsSettled(
  reader: PythonReader,
  options: ReadOptions,
  tries = 5,
): PyThread[] {
  for (let i = 1;; i++) {
    try {
      return reader.threads(options);
    } catch (err) {
      const torn = err instanceof TornRead ||
        (err instanceof MemoryError && err.reason === "fault");
      if (err instanceof MemoryError && err.reason === "exited") throw noProcess(reader.pid);
      if (!torn || i >= tries) {
        if (!processExists(reader.pid)) throw noProcess(reader.pid);
        if (torn) {
          throw new FlameError(
            `process ${reader.pid}: its Python state kept changing under ${tries} reads (${err.message})`,
          );
        }
        throw err;
      }
    }
  }
}

/** Dumps every thread of Python process `pid` (lines included unless `lines` is false). */
export function dumpProcess(pid: number, { lines = true }: { lines?: boolean } = {}): ProcessDump {
  const target = discoverPython(pid);
  const reader = new PythonReader(target);
  try {
    const threads = readThreadsSettled(reader, { lines });
    const names = readThreadNames(reader);
    return {
      pid,
      command: commandLine(pid),
      version: versionText(target.version),
      binary: target.binary,
      threads: threads.map((t) => ({
        tid: t.tid,
        ident: t.ident,
        name: names.get(t.ident) ?? (t.tid !== undefined ? threadComm(pid, t.tid) : undefined),
        gil: t.gil,
        state: t.state,
        frames: t.frames,
      })),
    };
  } finally {
    reader.close();
  }
}

/** The dump as text for a terminal: one block per thread, frames innermost last. */
export function formatDump(dump: ProcessDump): string {
  const out: string[] = [];
  out.push(`Process ${dump.pid}: ${showable(dump.command)}`);
  out.push(`Python ${dump.version} (${showable(dump.binary)})`);
  for (const t of dump.threads) {
    const flags = [t.state, ...(t.gil ? ["holds the GIL"] : [])].join(", ");
    const name = t.name === undefined ? "" : ` "${showable(t.name)}"`;
    out.push("");
    out.push(`Thread ${t.tid ?? `0x${t.ident.toString(16)}`}${name} (${flags})`);
    if (t.frames.length === 0) out.push("    (no Python frames)");
    for (const f of t.frames) {
      const where = f.line === undefined ? f.file : `${f.file}:${f.line}`;
      out.push(`    ${showable(f.name)} (${showable(where)})`);
    }
  }
  return out.join("\n") + "\n";
}
