/**
 * V8 CPU profiles in: Chrome DevTools' `.cpuprofile`, `node --cpu-prof` and `deno --cpu-prof`.
 * A tree of nodes (`{id, callFrame: {functionName, url, lineNumber, columnNumber}, children}`,
 * the first node the root), and the sampled leaf node of each sample in time order with the
 * microseconds since the previous sample (`samples`, `timeDeltas`).
 *
 * Each sample weighs the time until the next one (the last one the median interval), so the
 * profile is in nanoseconds of wall time, as DevTools shows it, and the samples keep their order
 * on the timeline. A file without samples falls back to the nodes' hit counts (unit: samples).
 * Frames are named as flame names V8 frames elsewhere, `fib /app/x.js:3:13` (1-based line and
 * column), so perf-based and V8 profiles of one program compare; V8's own nodes (`(program)`,
 * `(garbage collector)`, `(idle)`) keep their names. The `(root)` node is dropped.
 */
import { emptyProfile, type FrameInfo, type Profile, SEPARATOR } from "../profile/profile.ts";
import type { ProfileReader } from "./format.ts";
import { readJsonProfile } from "./input.ts";

/** Characters of stack keys built at most (deep trees make long keys: bounded memory). */
const MAX_KEY_CHARS = 256 * 1024 * 1024;

interface CallFrame {
  functionName?: unknown;
  url?: unknown;
  lineNumber?: unknown;
  columnNumber?: unknown;
}

interface CpuNode {
  id?: unknown;
  callFrame?: CallFrame;
  children?: unknown;
  parent?: unknown;
  hitCount?: unknown;
}

/** True when the head looks like a V8 CPU profile: a JSON object whose first key is `nodes`. */
export function looksLikeCpuprofile(text: string): boolean {
  return /^\s*\{\s*"nodes"\s*:\s*\[/.test(text) ||
    (/^\s*\{/.test(text) && /"callFrame"\s*:\s*\{/.test(text.slice(0, 4096)) &&
      /"(?:timeDeltas|samples|startTime)"/.test(text));
}

/** The frame name and what is known of a call frame. */
function frameOf(cf: CallFrame): { name: string; info: FrameInfo } {
  const fn = typeof cf.functionName === "string" ? cf.functionName : "";
  let url = typeof cf.url === "string" ? cf.url : "";
  const line = typeof cf.lineNumber === "number" && cf.lineNumber >= 0 ? cf.lineNumber + 1 : 0;
  const col = typeof cf.columnNumber === "number" && cf.columnNumber >= 0 ? cf.columnNumber + 1 : 0;
  if (url.startsWith("file://")) url = decodeURIComponent(url.slice(7));
  if (url === "") {
    // V8's own nodes, and native functions: their name says all.
    const name = fn === "" ? "(anonymous)" : fn;
    const pseudo = /^\(.*\)$/.test(name);
    return { name: clean(name), info: { kind: pseudo ? "root" : "native" } };
  }
  const name = `${fn === "" ? "(anonymous)" : fn} ${url}${line ? `:${line}` : ""}${
    line && col ? `:${col}` : ""
  }`;
  const info: FrameInfo = { kind: "js", file: url };
  if (line) info.line = line;
  return { name: clean(name), info };
}

function clean(name: string): string {
  return name.replaceAll(SEPARATOR, ":").replaceAll("\n", " ");
}

/** Builds a profile from a parsed V8 CPU profile; throws an Error with one line if malformed. */
export function cpuprofileToProfile(json: unknown, name: string): Profile {
  if (
    json === null || typeof json !== "object" ||
    !Array.isArray((json as CpuNode[] & { nodes: unknown }).nodes)
  ) {
    throw new Error("no 'nodes' array");
  }
  const doc = json as {
    nodes: CpuNode[];
    samples?: unknown;
    timeDeltas?: unknown;
    startTime?: unknown;
    endTime?: unknown;
  };
  const nodes = doc.nodes;
  if (nodes.length === 0) throw new Error("'nodes' is empty");
  // Node ids to indexes; parents from children lists (or `parent`, as old Chrome writes).
  const index = new Map<number, number>();
  nodes.forEach((n, i) => {
    if (n === null || typeof n !== "object" || typeof n.id !== "number") {
      throw new Error(`node ${i} has no numeric id`);
    }
    if (index.has(n.id)) throw new Error(`node id ${n.id} appears twice`);
    index.set(n.id, i);
  });
  const parent = new Int32Array(nodes.length).fill(-1);
  nodes.forEach((n, i) => {
    if (Array.isArray(n.children)) {
      for (const c of n.children) {
        const ci = index.get(c as number);
        if (ci === undefined) throw new Error(`node ${n.id} has an unknown child ${c}`);
        if (parent[ci] !== -1 && parent[ci] !== i) {
          throw new Error(`node ${c} has two parents`);
        }
        parent[ci] = i;
      }
    } else if (typeof n.parent === "number") {
      const pi = index.get(n.parent);
      if (pi === undefined) throw new Error(`node ${n.id} has an unknown parent ${n.parent}`);
      parent[i] = pi;
    }
  });
  const profile = emptyProfile("nanoseconds", { name, producer: "V8 CPU profiler" });
  // Stack keys, computed once per node in an order where parents come first.
  const keys: (string | undefined)[] = new Array(nodes.length);
  let keyChars = 0;
  const keyOf = (i: number): string => {
    const path: number[] = [];
    let at = i;
    while (at !== -1 && keys[at] === undefined) {
      path.push(at);
      if (path.length > nodes.length) throw new Error("the node tree has a cycle");
      at = parent[at];
    }
    let key = at === -1 ? "" : keys[at]!;
    for (let k = path.length - 1; k >= 0; k--) {
      const n = path[k];
      const { name: frame, info } = frameOf(nodes[n].callFrame ?? {});
      if (parent[n] === -1 && frame === "(root)") {
        key = ""; // the root node stands for the whole profile
      } else {
        if (!profile.frames.has(frame)) profile.frames.set(frame, info);
        key = key === "" ? frame : key + SEPARATOR + frame;
      }
      keyChars += key.length;
      if (keyChars > MAX_KEY_CHARS) throw new Error("the node tree is too deep to read");
      keys[n] = key;
    }
    return key;
  };

  const samples = Array.isArray(doc.samples) ? doc.samples : [];
  const deltas = Array.isArray(doc.timeDeltas) ? doc.timeDeltas : [];
  if (samples.length > 0) {
    if (deltas.length !== samples.length) {
      throw new Error(`${samples.length} samples but ${deltas.length} time deltas`);
    }
    // Times in µs from the profile's start; each sample lasts until the next.
    const times = new Float64Array(samples.length);
    let t = 0;
    for (let i = 0; i < samples.length; i++) {
      const d = deltas[i];
      if (typeof d !== "number" || !Number.isFinite(d)) {
        throw new Error(`time delta ${i} is not a number`);
      }
      t += Math.max(0, d); // V8 can go back a little between threads; time order is kept
      times[i] = t;
    }
    const intervals = [];
    for (let i = 1; i < samples.length; i++) intervals.push(times[i] - times[i - 1]);
    intervals.sort((a, b) => a - b);
    const typical = intervals.length ? intervals[intervals.length >> 1] : 1000;
    for (let i = 0; i < samples.length; i++) {
      const ni = index.get(samples[i] as number);
      if (ni === undefined) throw new Error(`sample ${i} names an unknown node ${samples[i]}`);
      const key = keyOf(ni);
      const lasts = i + 1 < samples.length ? times[i + 1] - times[i] : typical;
      const weight = Math.round(lasts * 1000);
      if (key === "") continue;
      const tl = profile.timeline ??= { stacks: [], weights: [], times: [] };
      profile.stacks.set(key, (profile.stacks.get(key) ?? 0) + weight);
      tl.stacks.push(key);
      tl.weights.push(weight);
      tl.times.push(Math.round(times[i] * 1000));
    }
    const first = times[0];
    profile.meta.durationNs = Math.round((times[samples.length - 1] - first + typical) * 1000);
    if (typical > 0) profile.meta.sampleRate = Math.round(1e6 / typical);
  } else {
    profile.unit = "samples";
    nodes.forEach((n, i) => {
      const hits = typeof n.hitCount === "number" ? n.hitCount : 0;
      if (hits <= 0) return;
      const key = keyOf(i);
      if (key !== "") profile.stacks.set(key, (profile.stacks.get(key) ?? 0) + hits);
    });
  }
  return profile;
}

/** The V8 CPU profile reader. */
export const cpuprofileReader: ProfileReader = {
  name: "cpuprofile",
  description: "V8 CPU profiles: .cpuprofile (Chrome DevTools, node/deno --cpu-prof)",
  detect: (_head, text) => looksLikeCpuprofile(text),
  read: (input, options) =>
    readJsonProfile(input, options.maxBytes, "V8 CPU profile", (json) => ({
      profile: cpuprofileToProfile(json, input.name),
      warnings: [],
    })),
};
