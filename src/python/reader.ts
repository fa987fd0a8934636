/**
 * Reads every thread's Python stack from a running CPython: interpreters → thread states →
 * frames → code objects, per version (frame objects up to 3.10, interpreter frames from 3.11),
 * without stopping the process. What is read is validated (pointers, types, bounded chains);
 * a thread whose read fails is reported as torn, for the caller to retry or drop.
 */
import { type PythonTarget } from "./discover.ts";
import { type Layout } from "./layouts.ts";
import { MemoryError } from "./memory.ts";
import { ProcFile } from "./libc.ts";
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
/** Walks of one thread's frames while its frame word moves, before the read counts as torn. */
const MAX_WALKS = 3;
const MAX_INTERPRETERS = 256;

interface CodeInfo {
  name: string;
  file: string;
  firstLine: number;
  /** The pointers that identify the code object (a freed and reused address differs). */
  namePtr: number;
  filePtr: number;
  tableAddress: number;
  table?: Uint8Array;
}

/** What a frame walk yields before code objects are resolved. */
interface RawFrame {
  code: number;
  /** f_lasti (up to 3.10) or the instruction pointer (3.11+). */
  instr: number;
  entry: boolean;
}

/** A Python process being read. */
export class PythonReader {
  readonly objects: ObjectReader;
  readonly layout: Layout;
  readonly #codes = new Map<number, CodeInfo>();
  #batch = new Uint8Array(64 * 1024);
  readonly #states = new ThreadStates();
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
    this.#states.close();
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
    this.objects.resetPages();
    const out: PyThread[] = [];
    const L = this.layout;
    const o = this.objects;
    const nextAt = field(L, "thread.next");
    const identAt = field(L, "thread.thread_id");
    const nativeAt = L["thread.native_thread_id"];
    const frameAt = L["thread.current_frame"] ?? L["thread.cframe"] ?? field(L, "thread.frame");
    const size = Math.max(nextAt, identAt, nativeAt ?? 0, frameAt) + 8;
    const pending: { thread: PyThread; frame: number }[] = [];
    for (const interp of this.interpreters()) {
      const holder = this.gilHolder(interp);
      let ts = o.pointer(interp + field(L, "interp.threads_head"));
      let count = 0;
      while (ts !== 0) {
        checkPointer(ts, "thread state");
        if (++count > MAX_THREADS) throw new TornRead("chain too long", "threads");
        const v = o.view(ts, size);
        const ident = ptrAt(v, identAt);
        let tid: number | undefined = nativeAt !== undefined
          ? v.getUint32(nativeAt, true)
          : undefined;
        if (tid === 0) tid = undefined;
        const thread: PyThread = {
          tid,
          ident,
          gil: holder === ts,
          state: "unknown",
          frames: [],
          address: ts,
        };
        pending.push({ thread, frame: ptrAt(v, frameAt) });
        out.push(thread);
        ts = ptrAt(v, nextAt);
      }
    }
    for (const p of pending) p.thread.frames = this.#settledFrames(p, frameAt, options);
    if (nativeAt === undefined) this.#fillTids(out);
    for (const t of out) if (t.tid !== undefined) t.state = this.#states.state(this.pid, t.tid);
    this.#states.keep(out);
    return out;
  }

  /**
   * A thread's frames, read again while its frame word moves. Up to 3.10 a returning function's
   * frame object is freed and may at once be reused by another thread (a code object's spare
   * frame, the free list), so a walk from a frame that has since returned can run on into
   * another thread's stack: the frame word is read afresh after the walk and must not have
   * moved. (From 3.11 frames live on each thread's own stack, and the word read is the cframe.)
   */
  #settledFrames(
    p: { thread: PyThread; frame: number },
    frameAt: number,
    options: ReadOptions,
  ): PyFrame[] {
    for (let attempt = 1;; attempt++) {
      const frames = this.#framesFrom(p.frame, options);
      if (this.#model !== "object") return frames;
      const word = new DataView(this.objects.bytesAt(p.thread.address + frameAt, 8).buffer);
      const now = ptrAt(word, 0);
      if (now === p.frame) return frames;
      if (attempt === MAX_WALKS) throw new TornRead("moving stack", `thread ${p.thread.ident}`);
      p.frame = now;
      this.objects.resetPages(); // the pages read so far are older than the new frame word
    }
  }

  /**
   * Frames from a thread state's frame word (the frame, or 3.11/3.12's cframe), outermost
   * first. Frames are read one by one (each names the next); their code objects are then
   * checked in one batched read and decoded only when new.
   */
  #framesFrom(word: number, options: ReadOptions): PyFrame[] {
    let first = word;
    if (this.layout["thread.cframe"] !== undefined && word !== 0) {
      first = this.objects.pointer(word + field(this.layout, "cframe.current_frame"));
    }
    const raw = this.#model === "object"
      ? this.#objectFrames(first)
      : this.#interpreterFrames(first);
    const infos = this.#codes_(raw.map((r) => r.code), options.lines === true);
    const out: PyFrame[] = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i];
      const info = infos[i];
      const frame: PyFrame = {
        name: info.name,
        file: info.file,
        firstLine: info.firstLine,
        entry: r.entry,
      };
      if (options.lines) frame.line = this.#line(info, r);
      out[raw.length - 1 - i] = frame;
    }
    return out;
  }

  #line(info: CodeInfo, r: RawFrame): number {
    if (!info.table) return info.firstLine;
    if (this.#model === "interp") {
      const unit = Math.floor((r.instr - (r.code + field(this.layout, "code.code_adaptive"))) / 2);
      return unit >= 0 ? locationTableLine(info.table, info.firstLine, unit) : info.firstLine;
    }
    if (r.instr < 0) return info.firstLine;
    if (this.#major === 3 && this.#minor === 10) {
      return linetable310Line(info.table, info.firstLine, r.instr * 2);
    }
    return lnotabLine(info.table, info.firstLine, r.instr, this.#major === 3);
  }

  /** Up to 3.10: PyFrameObject linked by f_back. Innermost first. */
  #objectFrames(first: number): RawFrame[] {
    const L = this.layout;
    const o = this.objects;
    const typeAt = field(L, "object.type");
    const backAt = field(L, "frame.back");
    const codeAt = field(L, "frame.code");
    const lastiAt = field(L, "frame.lasti");
    const size = Math.max(typeAt, backAt, codeAt, lastiAt) + 8;
    if (this.target.types.frame === undefined && first !== 0) {
      this.target.types.frame = this.#learnType(first, "frame");
    }
    const frameType = this.target.types.frame;
    const out: RawFrame[] = [];
    let f = first;
    while (f !== 0) {
      if (out.length >= MAX_FRAMES) throw new TornRead("chain too long", "frames");
      checkPointer(f, "frame");
      const v = o.view(f, size);
      if (frameType !== undefined && ptrAt(v, typeAt) !== frameType) {
        throw new TornRead("bad type", `frame at 0x${f.toString(16)}`);
      }
      out.push({ code: ptrAt(v, codeAt), instr: v.getInt32(lastiAt, true), entry: true });
      f = ptrAt(v, backAt);
    }
    return out;
  }

  /** 3.11+: _PyInterpreterFrame linked by `previous`. Innermost first. */
  #interpreterFrames(first: number): RawFrame[] {
    const L = this.layout;
    const o = this.objects;
    const prevAt = field(L, "iframe.previous");
    const codeAt = field(L, "iframe.code");
    const instrAt = field(L, "iframe.instr");
    const ownerAt = field(L, "iframe.owner");
    const entryAt = L["iframe.is_entry"];
    const cstack = L["iframe.owned_by_cstack"] ?? -1;
    const size = Math.max(prevAt, codeAt, instrAt, ownerAt + 1, (entryAt ?? 0) + 1) + 8;
    const out: RawFrame[] = [];
    let steps = 0;
    let f = first;
    while (f !== 0) {
      if (++steps > MAX_FRAMES) throw new TornRead("chain too long", "frames");
      checkPointer(f, "frame");
      const v = o.view(f, size);
      const previous = ptrAt(v, prevAt);
      if (v.getUint8(ownerAt) === cstack) {
        // A shim that a C-level evaluation call pushes: the frame above it is an entry.
        if (out.length > 0) out[out.length - 1].entry = true;
        f = previous;
        continue;
      }
      out.push({
        code: ptrAt(v, codeAt),
        instr: ptrAt(v, instrAt),
        // The outermost frame begins an evaluation call whatever the markers say.
        entry: (entryAt !== undefined && v.getUint8(entryAt) !== 0) || previous === 0,
      });
      f = previous;
    }
    return out;
  }

  /**
   * Code info for each code address, in order: one batched read checks every code object's
   * type and identity (name, file, first line, line table pointers); only new or changed ones
   * are decoded. A frame whose code is not a code object makes the read torn (TornRead: the
   * caller reads again, then drops the sample).
   */
  #codes_(codes: number[], withTable: boolean): CodeInfo[] {
    if (codes.length === 0) return [];
    const L = this.layout;
    const o = this.objects;
    const typeAt = field(L, "object.type");
    const nameAt = L["code.qualname"] ?? field(L, "code.name");
    const fileAt = field(L, "code.filename");
    const firstAt = field(L, "code.firstlineno");
    const tableAt = L["code.linetable"] ?? field(L, "code.lnotab");
    const size = Math.max(typeAt, nameAt, fileAt, firstAt, tableAt) + 8;
    for (const c of codes) checkPointer(c, "code");
    const need = codes.length * size;
    if (this.#batch.length < need) {
      this.#batch = new Uint8Array(Math.max(need, this.#batch.length * 2));
    }
    o.memory.readMany(codes, size, this.#batch);
    const v = new DataView(this.#batch.buffer);
    if (this.target.types.code === undefined) {
      this.target.types.code = this.#learnType(codes[0], "code");
    }
    const codeType = this.target.types.code;
    const out: CodeInfo[] = new Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const at = i * size;
      if (codeType !== undefined && ptrAt(v, at + typeAt) !== codeType) {
        throw new TornRead("bad type", `code at 0x${codes[i].toString(16)}`);
      }
      const name = ptrAt(v, at + nameAt);
      const file = ptrAt(v, at + fileAt);
      const first = v.getInt32(at + firstAt, true);
      const table = ptrAt(v, at + tableAt);
      let info = this.#codes.get(codes[i]);
      if (
        !info || info.namePtr !== name || info.filePtr !== file || info.firstLine !== first ||
        info.tableAddress !== table
      ) {
        info = {
          name: o.string(name),
          file: o.string(file),
          firstLine: first,
          namePtr: name,
          filePtr: file,
          tableAddress: table,
        };
        if (this.#codes.size >= 100_000) this.#codes.clear();
        this.#codes.set(codes[i], info);
      }
      if (withTable && info.table === undefined && info.tableAddress !== 0) {
        info.table = o.bytes(info.tableAddress);
      }
      out[i] = info;
    }
    return out;
  }

  /**
   * The type object of `object`, checked by its name: for binaries without symbols for
   * PyCode_Type and PyFrame_Type, the first object seen teaches the reader the type's address.
   */
  #learnType(object: number, name: string): number {
    const type = this.objects.typeIfNamed(object, name);
    if (type === undefined) throw new TornRead("bad type", `${name} at 0x${object.toString(16)}`);
    return type;
  }

  /**
   * Up to 3.10 thread states have no OS thread id. Python's ident is the thread's pthread_t:
   * the address of glibc's `struct pthread`, which holds the thread's TID at a fixed offset.
   * The offset is found once by matching every thread's candidates against /proc/PID/task.
   */
  #fillTids(threads: PyThread[]): void {
    const missing = threads.filter((t) => t.tid === undefined && t.ident !== 0);
    if (missing.length === 0) return;
    const SPAN = 1024;
    if (this.#pthreadTidOffset === undefined) {
      const tasks = new Set(taskIds(this.pid));
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
    // Read every time: glibc reuses a finished thread's struct pthread (and so its ident) for
    // the next thread it starts, so an ident does not name one thread for long. A value that
    // cannot be a TID (pid_max is at most 2^22) is left unknown.
    for (const t of missing) {
      const tid = this.objects.view(t.ident + this.#pthreadTidOffset, 4).getInt32(0, true);
      if (tid > 0 && tid <= 4194304) t.tid = tid;
    }
  }
}

/** The process's thread ids (/proc/PID/task). */
function taskIds(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const e of Deno.readDirSync(`/proc/${pid}/task`)) out.push(Number(e.name));
  } catch { /* gone */ }
  return out;
}

/** Parses the state letter of a /proc stat line. */
function stateOf(stat: string | undefined): ThreadState {
  if (stat === undefined) return "unknown";
  const state = stat.charAt(stat.lastIndexOf(")") + 2);
  return state === "R" ? "running" : state === "" ? "unknown" : "idle";
}

/** Threads' run states, with each thread's stat file kept open between samples. */
class ThreadStates {
  readonly #files = new Map<number, ProcFile>();

  state(pid: number, tid: number): ThreadState {
    let file = this.#files.get(tid);
    if (!file) {
      try {
        file = new ProcFile(`/proc/${pid}/task/${tid}/stat`, 512);
      } catch {
        return "unknown";
      }
      this.#files.set(tid, file);
    }
    return stateOf(file.read());
  }

  /** Closes the files of threads that are gone. */
  keep(threads: PyThread[]): void {
    if (this.#files.size <= threads.length) return;
    const live = new Set(threads.map((t) => t.tid));
    for (const [tid, file] of this.#files) {
      if (!live.has(tid)) {
        file.close();
        this.#files.delete(tid);
      }
    }
  }

  close(): void {
    for (const f of this.#files.values()) f.close();
    this.#files.clear();
  }
}
