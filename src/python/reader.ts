/**
 * Reads every thread's Python stack from a running CPython: interpreters → thread states →
 * frames → code objects, per version (frame objects up to 3.10, interpreter frames from 3.11),
 * without stopping the process. What is read is validated (pointers, types, bounded chains);
 * a thread whose read fails is reported as torn, for the caller to retry or drop.
 */
import { type PythonTarget } from "./discover.ts";
import { type Layout } from "./layouts.ts";
import { MemoryError } from "./memory.ts";
import { checkPointer, field, ObjectReader, ptrAt, TornRead } from "./objects.ts";
import { linetable310Line, lnotabLine, locationTableLine } from "./linetable.ts";

/** One Python frame. */
export interface PyFrame {
  /** The function's qualified name (3.11+) or its name. */
  name: string;
  /** The code's file name as the interpreter has it (a path or `<string>`-like). */
  file: string;
  /** The function's first line. */
  firstLine: number;
  /** The line running (only when lines were asked for). */
  line?: number;
  /**
   * True when this frame starts a C-level evaluation call (one `_PyEval_EvalFrameDefault`):
   * every frame up to 3.10, `is_entry` on 3.11, the frame above a C-stack shim from 3.12.
   */
  entry: boolean;
}

/** Whether a thread was running on a CPU when sampled. */
export type ThreadState = "running" | "idle" | "unknown";

/** One thread's state and stack. */
export interface PyThread {
  /** The OS thread id (what perf reports), where known. */
  tid?: number;
  /** Python's thread ident (`threading.get_ident()`, the pthread id). */
  ident: number;
  /** Holds the GIL at the moment of the read. */
  gil: boolean;
  /** Running or idle, from /proc/PID/task/TID/stat (idle when waiting, e.g. for the GIL). */
  state: ThreadState;
  /** Frames, outermost first (innermost last). */
  frames: PyFrame[];
  /** The thread state's address (identifies the thread between reads). */
  address: number;
}

/** Options of one read. */
export interface ReadOptions {
  /** Decode the line running in each frame (costs a line-table decode per new frame). */
  lines?: boolean;
}

/** Longest frame chain followed (deeper chains are loops or torn). */
const MAX_FRAMES = 4096;
const MAX_THREADS = 4096;
const MAX_INTERPRETERS = 256;

interface CodeInfo {
  name: string;
  file: string;
  firstLine: number;
  /** Pointers that identify the code object's identity (a freed and reused address differs). */
  key: string;
  table?: Uint8Array;
  tableAddress: number;
}

/** A Python process being read. */
export class PythonReader {
  readonly objects: ObjectReader;
  readonly layout: Layout;
  readonly #codes = new Map<number, CodeInfo>();
  readonly #tids = new Map<number, number>();
  #pthreadTidOffset: number | undefined;
  readonly #model: "object" | "interp";
  readonly #minor: number;
  readonly #major: number;

  constructor(readonly target: PythonTarget) {
    this.objects = new ObjectReader(target);
    this.layout = target.layout;
    this.#major = target.version.major;
    this.#minor = target.version.minor;
    this.#model = this.#major === 3 && this.#minor >= 11 ? "interp" : "object";
  }

  get pid(): number {
    return this.target.pid;
  }

  /** Closes the process's memory. */
  close(): void {
    this.target.memory.close();
  }

  /** The addresses of every interpreter state. */
  interpreters(): number[] {
    const t = this.target;
    const head = t.runtime !== undefined
      ? this.objects.pointer(t.runtime + field(this.layout, "runtime.interpreters_head"))
      : this.objects.pointer(t.interpHead!);
    const out: number[] = [];
    const next = field(this.layout, "interp.next");
    for (let p = head; p !== 0; p = this.objects.pointer(p + next)) {
      checkPointer(p, "interpreter");
      if (out.length >= MAX_INTERPRETERS) throw new TornRead("chain too long", "interpreters");
      out.push(p);
    }
    return out;
  }

  /** The thread-state addresses of one interpreter, newest first. */
  threadStates(interp: number): number[] {
    const out: number[] = [];
    const next = field(this.layout, "thread.next");
    let p = this.objects.pointer(interp + field(this.layout, "interp.threads_head"));
    for (; p !== 0; p = this.objects.pointer(p + next)) {
      checkPointer(p, "thread state");
      if (out.length >= MAX_THREADS) throw new TornRead("chain too long", "threads");
      out.push(p);
    }
    return out;
  }

  /** The thread state holding the GIL in `interp` (0 when nobody holds it, or unknown). */
  gilHolder(interp: number): number {
    const L = this.layout;
    const o = this.objects;
    const t = this.target;
    if (L["interp.gil_locked"] !== undefined && L["interp.gil_last_holder"] !== undefined) {
      const locked = o.view(interp + L["interp.gil_locked"], 4).getInt32(0, true);
      return locked ? o.pointer(interp + L["interp.gil_last_holder"]) : 0;
    }
    if (L["interp.ceval_gil"] !== undefined) {
      const gil = o.pointer(interp + L["interp.ceval_gil"]);
      if (gil === 0) return 0;
      const locked = o.view(gil + field(L, "gil.locked"), 4).getInt32(0, true);
      return locked ? o.pointer(gil + field(L, "gil.last_holder")) : 0;
    }
    if (t.runtime !== undefined && L["runtime.gil_locked"] !== undefined) {
      const locked = o.view(t.runtime + L["runtime.gil_locked"], 4).getInt32(0, true);
      return locked ? o.pointer(t.runtime + field(L, "runtime.gil_last_holder")) : 0;
    }
    if (t.tstateCurrent !== undefined) return o.pointer(t.tstateCurrent);
    return 0;
  }

  /**
   * Every thread of every interpreter, with its stack. Throws TornRead or MemoryError when the
   * read is inconsistent (the caller retries once, then drops the sample).
   */
  threads(options: ReadOptions = {}): PyThread[] {
    const out: PyThread[] = [];
    const L = this.layout;
    const o = this.objects;
    const identAt = field(L, "thread.thread_id");
    const nativeAt = L["thread.native_thread_id"];
    for (const interp of this.interpreters()) {
      const holder = this.gilHolder(interp);
      for (const ts of this.threadStates(interp)) {
        const ident = o.pointer(ts + identAt);
        let tid: number | undefined = nativeAt !== undefined
          ? o.view(ts + nativeAt, 4).getUint32(0, true)
          : this.#tids.get(ident);
        if (tid === 0) tid = undefined;
        out.push({
          tid,
          ident,
          gil: holder === ts,
          state: "unknown",
          frames: this.frames(ts, options),
          address: ts,
        });
      }
    }
    if (nativeAt === undefined) this.#fillTids(out);
    for (const t of out) if (t.tid !== undefined) t.state = threadState(this.pid, t.tid);
    return out;
  }

  /** The frames of the thread state at `ts`, outermost first. */
  frames(ts: number, options: ReadOptions = {}): PyFrame[] {
    const frames = this.#model === "object"
      ? this.#objectFrames(ts, options)
      : this.#interpreterFrames(ts, options);
    return frames.reverse();
  }

  /** Up to 3.10: PyFrameObject linked by f_back. Innermost first. */
  #objectFrames(ts: number, options: ReadOptions): PyFrame[] {
    const L = this.layout;
    const o = this.objects;
    const backAt = field(L, "frame.back");
    const codeAt = field(L, "frame.code");
    const lastiAt = field(L, "frame.lasti");
    const size = Math.max(backAt, codeAt, lastiAt) + 8;
    const frameType = this.target.types.frame;
    const out: PyFrame[] = [];
    let f = o.pointer(ts + field(L, "thread.frame"));
    while (f !== 0) {
      if (out.length >= MAX_FRAMES) throw new TornRead("chain too long", "frames");
      o.expectType(f, frameType, "frame");
      const v = o.view(f, size);
      const back = ptrAt(v, backAt);
      const code = ptrAt(v, codeAt);
      const lasti = v.getInt32(lastiAt, true);
      const info = this.#code(code, options.lines === true);
      const frame: PyFrame = {
        name: info.name,
        file: info.file,
        firstLine: info.firstLine,
        entry: true,
      };
      if (options.lines) frame.line = this.#lineObjectModel(info, lasti);
      out.push(frame);
      f = back;
    }
    return out;
  }

  #lineObjectModel(info: CodeInfo, lasti: number): number {
    if (!info.table || lasti < 0) return info.firstLine;
    if (this.#major === 3 && this.#minor === 10) {
      return linetable310Line(info.table, info.firstLine, lasti * 2);
    }
    return lnotabLine(info.table, info.firstLine, lasti, this.#major === 3);
  }

  /** 3.11+: _PyInterpreterFrame linked by `previous`. Innermost first. */
  #interpreterFrames(ts: number, options: ReadOptions): PyFrame[] {
    const L = this.layout;
    const o = this.objects;
    const prevAt = field(L, "iframe.previous");
    const codeAt = field(L, "iframe.code");
    const instrAt = field(L, "iframe.instr");
    const ownerAt = field(L, "iframe.owner");
    const entryAt = L["iframe.is_entry"];
    const cstack = L["iframe.owned_by_cstack"] ?? -1;
    const size = Math.max(prevAt, codeAt, instrAt, ownerAt + 1, (entryAt ?? 0) + 1) + 8;
    const codeType = this.target.types.code;
    const adaptiveAt = field(L, "code.code_adaptive");
    let f: number;
    if (L["thread.current_frame"] !== undefined) {
      f = o.pointer(ts + L["thread.current_frame"]);
    } else {
      const cframe = o.pointer(ts + field(L, "thread.cframe"));
      f = cframe === 0 ? 0 : o.pointer(cframe + field(L, "cframe.current_frame"));
    }
    const out: PyFrame[] = [];
    let steps = 0;
    while (f !== 0) {
      if (++steps > MAX_FRAMES) throw new TornRead("chain too long", "frames");
      checkPointer(f, "frame");
      const v = o.view(f, size);
      const previous = ptrAt(v, prevAt);
      const owner = v.getUint8(ownerAt);
      if (owner === cstack) {
        // A shim that a C-level evaluation call pushes: the frame above it is an entry.
        if (out.length > 0) out[out.length - 1].entry = true;
        f = previous;
        continue;
      }
      const code = ptrAt(v, codeAt);
      const instr = ptrAt(v, instrAt);
      const isEntry = entryAt !== undefined ? v.getUint8(entryAt) !== 0 : false;
      if (codeType !== undefined && (code === 0 || code % 8 !== 0 || o.typeOf(code) !== codeType)) {
        // 3.13 keeps non-code executables (for frames of C functions' own) on the chain.
        f = previous;
        continue;
      }
      const info = this.#code(code, options.lines === true);
      const frame: PyFrame = {
        name: info.name,
        file: info.file,
        firstLine: info.firstLine,
        // The outermost frame begins an evaluation call whatever the markers say.
        entry: isEntry || previous === 0,
      };
      if (options.lines) {
        const unit = Math.floor((instr - (code + adaptiveAt)) / 2);
        frame.line = info.table && unit >= 0
          ? locationTableLine(info.table, info.firstLine, unit)
          : info.firstLine;
      }
      out.push(frame);
      f = previous;
    }
    return out;
  }

  /** The name, file and first line of a code object, cached by address and identity. */
  #code(code: number, withTable: boolean): CodeInfo {
    const L = this.layout;
    const o = this.objects;
    o.expectType(code, this.target.types.code, "code");
    const nameAt = field(L, "code.name");
    const fileAt = field(L, "code.filename");
    const qualAt = L["code.qualname"];
    const firstAt = field(L, "code.firstlineno");
    const tableAt = L["code.linetable"] ?? field(L, "code.lnotab");
    const size = Math.max(nameAt, fileAt, qualAt ?? 0, firstAt, tableAt) + 8;
    const v = o.view(code, size);
    const name = ptrAt(v, qualAt ?? nameAt);
    const file = ptrAt(v, fileAt);
    const first = v.getInt32(firstAt, true);
    const table = ptrAt(v, tableAt);
    const key = `${name}:${file}:${first}:${table}`;
    let info = this.#codes.get(code);
    if (!info || info.key !== key) {
      info = {
        name: o.string(name),
        file: o.string(file),
        firstLine: first,
        key,
        tableAddress: table,
      };
      if (this.#codes.size >= 100_000) this.#codes.clear();
      this.#codes.set(code, info);
    }
    if (withTable && info.table === undefined && info.tableAddress !== 0) {
      info.table = o.bytes(info.tableAddress);
    }
    return info;
  }

  /**
   * Up to 3.10 thread states have no OS thread id. Python's ident is the thread's pthread_t:
   * the address of glibc's `struct pthread`, which holds the thread's TID at a fixed offset.
   * The offset is found once by matching every thread's candidates against /proc/PID/task.
   */
  #fillTids(threads: PyThread[]): void {
    const missing = threads.filter((t) => t.tid === undefined && t.ident !== 0);
    if (missing.length === 0) return;
    const tasks = new Set(taskIds(this.pid));
    const SPAN = 1024;
    if (this.#pthreadTidOffset === undefined) {
      const blocks: DataView[] = [];
      for (const t of missing) {
        try {
          blocks.push(new DataView(this.objects.bytesAt(t.ident, SPAN).buffer));
        } catch (err) {
          if (err instanceof MemoryError && err.reason === "fault") return;
          throw err;
        }
      }
      // glibc's x86_64 struct pthread has `tid` at 0x2d0; check it first, then scan.
      const order = [0x2d0, ...Array.from({ length: SPAN / 4 }, (_, i) => i * 4)];
      for (const at of order) {
        const seen = new Set<number>();
        const ok = blocks.every((b) => {
          const v = b.getInt32(at, true);
          if (!tasks.has(v) || seen.has(v)) return false;
          seen.add(v);
          return true;
        });
        if (ok) {
          this.#pthreadTidOffset = at;
          break;
        }
      }
      if (this.#pthreadTidOffset === undefined) return;
    }
    for (const t of missing) {
      const tid = this.objects.view(t.ident + this.#pthreadTidOffset, 4).getInt32(0, true);
      if (tasks.has(tid)) {
        this.#tids.set(t.ident, tid);
        t.tid = tid;
      }
    }
  }
}

/** The process's thread ids (/proc/PID/task). */
export function taskIds(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/task`)) out.push(Number(e.name));
  } catch { /* gone */ }
  return out;
}

/** Running (R) or idle (sleeping, waiting, stopped) from /proc/PID/task/TID/stat. */
export function threadState(pid: number, tid: number): ThreadState {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/task/${tid}/stat`);
    const state = stat.charAt(stat.lastIndexOf(")") + 2);
    return state === "R" ? "running" : state === "" ? "unknown" : "idle";
  } catch {
    return "unknown";
  }
}
