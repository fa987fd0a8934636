/**
 * cProfile / pstats files in (`python -m cProfile -o out.prof script.py`, or
 * `pstats.Stats.dump_stats`): Python's marshal serialization of a dict from each function
 * `(file, line, name)` to `(primitive calls, calls, own time, cumulative time, callers)`, where
 * `callers` maps each calling function to the same four numbers for the calls it made. Python 3
 * and Python 2 files are both read (their marshal formats differ; marshal.ts reads both).
 *
 * A pstats file holds no stacks, only caller → callee edges, so the call tree is rebuilt, and it
 * is an approximation, the one gprof makes:
 * - The roots are the calls no profiled function made: a function without callers, or the
 *   calls of a function beyond those its callers account for (the script's `exec`, which also
 *   runs every imported module).
 * - Each function's time is split among its callers as cProfile measured it per caller (the
 *   cumulative time of the calls each made); within one caller, among the caller's own places
 *   in the tree in proportion to their time. A function whose cost depends on where its caller
 *   was called from is drawn at the caller's average. (Python 2's pure-Python `profile` records
 *   only call counts per caller: there the split is by calls.)
 * - Recursion is bounded: a function calling itself is not expanded again (its time stays in
 *   the outer call's own time); a cycle through other functions (mutual recursion, imports
 *   running modules that import) is followed round once more, then cut the same way. The tree is
 *   at most MAX_DEPTH deep, MAX_NODES wide and MAX_KEY_CHARS of keys; paths under 1e-6 of the
 *   total are merged into their parent. Every cut keeps the time (it goes to the parent's own time), so totals hold.
 * Weights are nanoseconds (cProfile's own clock: wall time by default).
 */
import { FlameError } from "../errors.ts";
import { emptyProfile, type Profile, SEPARATOR } from "../profile/profile.ts";
import type { ProfileReader } from "./format.ts";
import { readAllBytes } from "./input.ts";
import { MarshalError, type MarshalValue, readMarshal } from "./marshal.ts";

/**
 * How many times a function may be on one stack through a cycle of other functions. Measured
 * on an import-heavy real profile (1,224 functions; imports cycle through `exec`): own time
 * placed under the wrong function 48% with 1, 29% with 2 (0.8 s), 23% with 3 (1.6 s, 230 MB).
 */
const MAX_REENTRY = 2;
/** Deepest rebuilt stack. */
const MAX_DEPTH = 256;
/** Most tree nodes rebuilt; past it, paths merge into their parents. */
const MAX_NODES = 200_000;
/** Characters of stack keys built at most (deep, wide trees: memory stays bounded). */
const MAX_KEY_CHARS = 64 * 1024 * 1024;
/** Paths below this fraction of the total merge into their parent. */
const MIN_FRACTION = 1e-6;

/** One function of a pstats file. */
export interface PstatsFunction {
  file: string;
  line: number;
  name: string;
  /** Calls, recursive ones included. */
  calls: number;
  /** Calls that were not recursive (the outermost ones, which the cumulative time covers). */
  primitiveCalls: number;
  /** Seconds in the function itself. */
  ownTime: number;
  /** Seconds in the function and what it called (outermost calls only). */
  cumulativeTime: number;
  /** Calling functions (indexes into the function list) with the time spent in this one. */
  callers: { caller: number; calls: number; cumulativeTime: number }[];
}

/** True when `bytes` start like a marshalled pstats dict: `{` then a tuple key. */
export function looksLikePstats(bytes: Uint8Array): boolean {
  if (bytes.length < 2 || (bytes[0] & 0x7f) !== 0x7b) return false;
  const key = bytes[1] & 0x7f;
  return key === 0x28 || key === 0x29; // ( or )
}

const describe = (v: MarshalValue): string =>
  v === null
    ? "None"
    : Array.isArray(v)
    ? `a ${v.length}-tuple`
    : typeof v === "object"
    ? "a dict"
    : typeof v;

/**
 * The functions of a marshalled pstats dict. Throws an Error with one line when the value is
 * not shaped like one. Work is bounded by `budget` entries (shared caller dicts may repeat).
 */
export function pstatsFunctions(value: MarshalValue, budget: number): PstatsFunction[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`the marshalled value is ${describe(value)}, not a dict of functions`);
  }
  const index = new Map<string, number>();
  const keyOf = (k: MarshalValue, what: string): string => {
    if (
      !Array.isArray(k) || k.length !== 3 || typeof k[0] !== "string" ||
      typeof k[1] !== "number" || typeof k[2] !== "string"
    ) {
      throw new Error(`${what} is ${describe(k)}, not (file, line, name)`);
    }
    return `${k[0]}\0${k[1]}\0${k[2]}`;
  };
  const functions: PstatsFunction[] = [];
  for (const [k] of value.dict) {
    const key = keyOf(k, "a key");
    if (index.has(key)) continue;
    const [file, line, name] = k as [string, number, string];
    index.set(key, functions.length);
    functions.push({
      file,
      line,
      name,
      calls: 0,
      primitiveCalls: 0,
      ownTime: 0,
      cumulativeTime: 0,
      callers: [],
    });
  }
  let work = 0;
  for (const [k, v] of value.dict) {
    const f = functions[index.get(keyOf(k, "a key"))!];
    if (!Array.isArray(v) || v.length !== 5 || typeof v[4] !== "object" || v[4] === null) {
      throw new Error(`the entry of ${f.name} is ${describe(v)}, not (cc, nc, tt, ct, callers)`);
    }
    const [cc, nc, tt, ct, callers] = v;
    if (
      typeof cc !== "number" || typeof nc !== "number" || typeof tt !== "number" ||
      typeof ct !== "number"
    ) {
      throw new Error(`the times of ${f.name} are not numbers`);
    }
    f.calls = nc;
    f.primitiveCalls = cc;
    f.ownTime = finite(tt);
    f.cumulativeTime = finite(ct);
    if (Array.isArray(callers)) throw new Error(`the callers of ${f.name} are not a dict`);
    for (const [ck, cv] of callers.dict) {
      if (++work > budget) throw new Error("too many caller entries for the file's size");
      const caller = index.get(keyOf(ck, "a caller"));
      if (caller === undefined) continue; // a caller not profiled: the function is a root there
      // cProfile: (nc, cc, tt, ct); the pure-Python profile module: a call count.
      if (typeof cv === "number") {
        f.callers.push({ caller, calls: cv, cumulativeTime: NaN });
      } else if (Array.isArray(cv) && cv.length === 4 && typeof cv[0] === "number") {
        f.callers.push({ caller, calls: cv[0], cumulativeTime: finite(Number(cv[3])) });
      } else {
        throw new Error(`a caller entry of ${f.name} is ${describe(cv)}`);
      }
    }
  }
  return functions;
}

function finite(n: number): number {
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** A function's frame name: `name (file.py:line)`, built-ins (`~`) by their name alone. */
export function pstatsFrameName(f: { file: string; line: number; name: string }): string {
  if (f.file === "~" && f.line === 0) return f.name.replaceAll(SEPARATOR, ":");
  const base = f.file.slice(f.file.lastIndexOf("/") + 1);
  return `${f.name} (${base}:${f.line})`.replaceAll(SEPARATOR, ":");
}

/** One caller → callee edge. */
interface Edge {
  callee: number;
  /** Seconds the callee ran (itself and its callees) when called from this caller. */
  time: number;
}

/**
 * Rebuilds a call tree from the functions' caller edges (see the module comment) as stacks of
 * nanoseconds. Returns the stacks and how many paths were merged into their parents.
 */
export function rebuildStacks(
  functions: PstatsFunction[],
): { stacks: Map<string, number>; merged: number } {
  const names = functions.map(pstatsFrameName);
  const whole = (f: PstatsFunction) => Math.max(f.cumulativeTime, f.ownTime);
  // Each function's callees, with the time each spent in calls from it: cProfile measures it
  // per caller; the pure-Python profiler only counts calls, so its time is split by calls.
  const callees: Edge[][] = functions.map(() => []);
  functions.forEach((f, callee) => {
    const others = f.callers.filter((c) => c.caller !== callee);
    const byCalls = others.reduce((s, c) => s + c.calls, 0);
    for (const c of others) {
      const time = !Number.isNaN(c.cumulativeTime)
        ? Math.min(c.cumulativeTime, whole(f))
        : whole(f) * (byCalls > 0 ? c.calls / byCalls : 1 / others.length);
      if (time > 0) callees[c.caller].push({ callee, time });
    }
  });
  // Roots: calls no profiled caller made (the script's top level, or a caller not profiled),
  // found by balancing each function's calls against its callers'. Such calls get their share
  // of the function's time (they are outermost calls, which its cumulative time covers).
  const roots: { i: number; budget: number }[] = [];
  functions.forEach((f, i) => {
    const fromCallers = f.callers.reduce((s, c) => s + c.calls, 0);
    const outside = f.callers.length === 0 ? 1 : Math.max(0, f.calls - fromCallers);
    if (outside <= 0) return;
    const fraction = f.callers.length === 0
      ? 1
      : Math.min(1, outside / Math.max(1, f.primitiveCalls));
    const budget = whole(f) * fraction;
    if (budget > 0) roots.push({ i, budget });
  });
  const total = roots.reduce((s, r) => s + r.budget, 0);
  const minBudget = total * MIN_FRACTION;
  const seconds = new Map<string, number>();
  const onPath = new Uint8Array(functions.length);
  let nodes = 0;
  let merged = 0;
  let keyChars = 0;

  const expand = (fn: number, budget: number, prefix: string, depth: number): void => {
    nodes++;
    const f = functions[fn];
    const key = prefix === "" ? names[fn] : prefix + SEPARATOR + names[fn];
    keyChars += key.length;
    const scale = whole(f) > 0 ? budget / whole(f) : 0;
    let own = f.ownTime * scale;
    const children: { callee: number; budget: number }[] = [];
    let childSum = 0;
    for (const e of callees[fn]) {
      // Direct recursion stays in this call; a cycle through others may come round again, a
      // few times, its time shrinking each round.
      if (e.callee === fn || onPath[e.callee] >= MAX_REENTRY) continue;
      const b = e.time * scale;
      if (b <= 0) continue;
      children.push({ callee: e.callee, budget: b });
      childSum += b;
    }
    // Children never outgrow their parent: measured times disagree a little (clock reads), and
    // recursion counts time twice along its edges.
    const room = Math.max(0, budget - own);
    const fit = childSum > room && childSum > 0 ? room / childSum : 1;
    own = budget - childSum * fit;
    onPath[fn]++;
    for (const c of children) {
      const b = c.budget * fit;
      if (
        b < minBudget || depth + 1 >= MAX_DEPTH || nodes >= MAX_NODES ||
        keyChars >= MAX_KEY_CHARS
      ) {
        own += b;
        merged++;
      } else {
        expand(c.callee, b, key, depth + 1);
      }
    }
    onPath[fn]--;
    if (own > 0) seconds.set(key, (seconds.get(key) ?? 0) + own);
  };
  for (const { i, budget } of roots) expand(i, budget, "", 0);

  const stacks = new Map<string, number>();
  for (const [key, s] of seconds) {
    const ns = Math.round(s * 1e9);
    if (ns > 0) stacks.set(key, ns);
  }
  return { stacks, merged };
}

/** Builds a profile (nanoseconds) from the functions of a pstats file. */
export function pstatsProfile(functions: PstatsFunction[], name: string): Profile {
  const profile = emptyProfile("nanoseconds", { name, producer: "cProfile" });
  profile.stacks = rebuildStacks(functions).stacks;
  for (const f of functions) {
    const frame = pstatsFrameName(f);
    profile.frames.set(
      frame,
      f.file === "~" ? { kind: "native" } : { kind: "python", file: f.file, line: f.line },
    );
  }
  return profile;
}

/** The pstats reader. */
export const pstatsReader: ProfileReader = {
  name: "pstats",
  description: "cProfile/profile output (python -m cProfile -o out.prof): call tree rebuilt",
  detect: (head) => looksLikePstats(head),
  async read(input, options) {
    const bytes = await readAllBytes(input, options.maxBytes);
    let functions: PstatsFunction[];
    try {
      functions = pstatsFunctions(readMarshal(bytes), 8 * bytes.length + 1024);
    } catch (err) {
      const at = err instanceof MarshalError ? " bad marshal data:" : "";
      const reason = err instanceof Error ? err.message : String(err);
      throw new FlameError(`${input.name}: not a pstats file (cProfile -o output):${at} ${reason}`);
    }
    if (functions.length === 0) throw new FlameError(`${input.name}: the pstats file is empty`);
    const profile = pstatsProfile(functions, input.name);
    return {
      profile,
      warnings: [
        `${input.name}: cProfile records callers, not stacks: the call tree is rebuilt by ` +
        "splitting each function's time among its callers (an approximation; see --help)",
      ],
    };
  },
};
