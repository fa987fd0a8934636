/**
 * speedscope's JSON file format (https://www.speedscope.app/file-format-schema.json) in and out.
 *
 * In: sampled profiles (stacks of frame indexes, root first, one weight each: py-spy
 * `--format speedscope`) and evented ones (frames opened and closed at times, as flame writes
 * them). Each profile is a thread: with several, each gets a root frame of its name and
 * its samples go on the timeline, merged in time order. Frames with a file are named
 * `name (file:line)` (`name file:line:col` for JavaScript) unless their name already says so.
 *
 * Out: one profile per thread where the profile knows threads, else one. With a timeline in
 * nanoseconds, evented profiles that keep the time order (each sample open from its time for
 * its weight); otherwise sampled ones, in time order where known, else one sample per distinct
 * stack. Frames carry their file and line.
 */
import {
  emptyProfile,
  type FrameInfo,
  frameInfo,
  type Profile,
  SEPARATOR,
  stackFrames,
  type Unit,
} from "../profile/profile.ts";
import { VERSION } from "../version.ts";
import { type ProfileReader, type ProfileWriter, TextBlocks } from "./format.ts";
import { readJsonProfile } from "./input.ts";

const SCHEMA = "https://www.speedscope.app/file-format-schema.json";

/** The frame that samples with an empty stack are counted under. */
export const NO_FRAMES = "(no frames)";

/** speedscope's units, and what each is in flame's units (with the factor to them). */
const UNITS: Record<string, { unit: Unit; factor: number }> = {
  none: { unit: "samples", factor: 1 },
  nanoseconds: { unit: "nanoseconds", factor: 1 },
  microseconds: { unit: "nanoseconds", factor: 1e3 },
  milliseconds: { unit: "nanoseconds", factor: 1e6 },
  seconds: { unit: "nanoseconds", factor: 1e9 },
  bytes: { unit: "bytes", factor: 1 },
};

/** True when the head is speedscope JSON: its schema URL, or its two top-level keys. */
export function looksLikeSpeedscope(text: string): boolean {
  if (!/^\s*\{/.test(text)) return false;
  if (text.includes("speedscope.app/file-format-schema.json")) return true;
  return /"shared"\s*:\s*\{\s*"frames"/.test(text) && /"profiles"\s*:\s*\[/.test(text);
}

const JS_FILE = /\.(?:m?js|cjs|jsx|ts|tsx|mts)$|^(?:node|file|https?|ext):/;

/** A speedscope frame's flame name and what is known of it. */
function frameOf(frame: unknown, i: number, ownNames: boolean): { name: string; info: FrameInfo } {
  if (
    frame === null || typeof frame !== "object" ||
    typeof (frame as { name?: unknown }).name !== "string"
  ) {
    throw new Error(`frame ${i} has no name`);
  }
  const f = frame as { name: string; file?: unknown; line?: unknown; col?: unknown };
  const file = typeof f.file === "string" && f.file !== "" ? f.file : undefined;
  const line = typeof f.line === "number" && f.line > 0 ? Math.trunc(f.line) : undefined;
  const col = typeof f.col === "number" && f.col > 0 ? Math.trunc(f.col) : undefined;
  let name = f.name === "" ? "(anonymous)" : f.name;
  if (file === undefined) return { name: clean(name), info: { kind: "unknown" } };
  const js = JS_FILE.test(file);
  const info: FrameInfo = {
    kind: js ? "js" : /\.pyw?$|^<frozen /.test(file) ? "python" : "unknown",
    file,
  };
  if (line !== undefined) info.line = line;
  // Python files by base name (as py-spy's raw output shows them), JavaScript by URL (as V8
  // frames are named elsewhere). Names in flame's own files are flame's names already.
  const shown = js ? file : file.slice(file.lastIndexOf("/") + 1);
  if (!ownNames) {
    const where = `${shown}${line !== undefined ? `:${line}` : ""}`;
    name = js
      ? `${name} ${where}${line !== undefined && col !== undefined ? `:${col}` : ""}`
      : `${name} (${where})`;
  }
  return { name: clean(name), info };
}

function clean(name: string): string {
  return name.replaceAll(SEPARATOR, ":").replaceAll("\n", " ");
}

/** One sample on its way to the timeline, from any of the profiles. */
interface TimedSample {
  time: number;
  thread: number;
  stack: string;
  weight: number;
}

/** Reads parsed speedscope JSON into a profile; throws an Error with one line if malformed. */
export function speedscopeToProfile(
  json: unknown,
  name: string,
): { profile: Profile; warnings: string[] } {
  const doc = json as {
    shared?: { frames?: unknown };
    profiles?: unknown;
    name?: unknown;
    exporter?: unknown;
  };
  if (doc === null || typeof doc !== "object" || !Array.isArray(doc.profiles)) {
    throw new Error("no 'profiles' array");
  }
  if (!doc.shared || !Array.isArray(doc.shared.frames)) throw new Error("no 'shared.frames' array");
  const ownNames = typeof doc.exporter === "string" && doc.exporter.startsWith("flame ");
  const frames = doc.shared.frames.map((f, i) => frameOf(f, i, ownNames));
  const profiles = doc.profiles as Record<string, unknown>[];
  if (profiles.length === 0) throw new Error("'profiles' is empty");
  const units = profiles.map((p, i) => {
    const u = UNITS[String(p?.unit)];
    if (!u) throw new Error(`profile ${i} has an unknown unit '${String(p?.unit)}'`);
    return u;
  });
  const unit = units[0].unit;
  if (units.some((u) => u.unit !== unit)) throw new Error("profiles of different units");
  const producer = typeof doc.exporter === "string" ? doc.exporter : "speedscope";
  const profile = emptyProfile(unit, {
    name: typeof doc.name === "string" ? doc.name : name,
    producer,
  });
  for (const f of frames) {
    if (f.info.kind !== "unknown" && !profile.frames.has(f.name)) {
      profile.frames.set(f.name, f.info);
    }
  }
  const warnings: string[] = [];
  const several = profiles.length > 1;
  const timed: TimedSample[] = [];
  const timeUnit = unit === "nanoseconds";
  profiles.forEach((p, thread) => {
    const { factor } = units[thread];
    const threadName = typeof p.name === "string" && p.name !== ""
      ? p.name
      : `profile ${thread + 1}`;
    const root = several ? clean(threadName) : "";
    if (several) {
      profile.frames.set(root, { kind: "root" });
      (profile.threads ??= []).push({ name: threadName });
    }
    const frameName = (index: unknown): string => {
      const f = typeof index === "number" ? frames[index] : undefined;
      if (f === undefined) {
        throw new Error(`profile ${thread}: frame index ${String(index)} out of range`);
      }
      return f.name;
    };
    const add = (frames: string, weight: number, time: number | undefined) => {
      if (weight <= 0) return;
      // A sample of no frames (py-spy: a thread between Python calls) still took its time.
      const stack = frames === "" ? NO_FRAMES : frames;
      if (stack === NO_FRAMES) profile.frames.set(NO_FRAMES, { kind: "root" });
      const key = root === "" ? stack : root + SEPARATOR + stack;
      profile.stacks.set(key, (profile.stacks.get(key) ?? 0) + weight);
      if (time !== undefined) timed.push({ time, thread, stack: key, weight });
    };
    const start = typeof p.startValue === "number" ? p.startValue * factor : 0;
    if (p.type === "sampled") {
      if (!Array.isArray(p.samples) || !Array.isArray(p.weights)) {
        throw new Error(`profile ${thread}: a sampled profile needs 'samples' and 'weights'`);
      }
      if (p.samples.length !== p.weights.length) {
        throw new Error(
          `profile ${thread}: ${p.samples.length} samples but ${p.weights.length} weights`,
        );
      }
      let t = start;
      for (let i = 0; i < p.samples.length; i++) {
        const s = p.samples[i];
        const w = p.weights[i];
        if (!Array.isArray(s) || typeof w !== "number" || !Number.isFinite(w)) {
          throw new Error(`profile ${thread}: sample ${i} is malformed`);
        }
        const weight = w * factor;
        add(s.map(frameName).join(SEPARATOR), weight, timeUnit ? t : undefined);
        t += Math.max(0, weight);
      }
    } else if (p.type === "evented") {
      readEvents(p, thread, factor, frameName, add, warnings);
    } else {
      throw new Error(`profile ${thread} has an unknown type '${String(p.type)}'`);
    }
  });
  if (timed.length > 0) {
    if (several) timed.sort((a, b) => a.time - b.time);
    const origin = timed[0].time;
    const tl = profile.timeline = {
      stacks: [] as string[],
      weights: [] as number[],
      times: [] as number[],
      threads: several ? [] as number[] : undefined,
    };
    for (const s of timed) {
      tl.stacks.push(s.stack);
      tl.weights.push(s.weight);
      tl.times.push(s.time - origin);
      tl.threads?.push(s.thread);
    }
    if (!several) delete tl.threads;
    const last = timed[timed.length - 1];
    profile.meta.durationNs = last.time + last.weight - origin;
  }
  return { profile, warnings };
}

/** Reads an evented profile: the time between two events goes to the frames open then. */
function readEvents(
  p: Record<string, unknown>,
  thread: number,
  factor: number,
  frameName: (index: unknown) => string,
  add: (stack: string, weight: number, time: number | undefined) => void,
  warnings: string[],
): void {
  if (!Array.isArray(p.events)) {
    throw new Error(`profile ${thread}: an evented profile needs 'events'`);
  }
  const open: number[] = [];
  const keys: string[] = [];
  let last = -Infinity;
  for (let i = 0; i < p.events.length; i++) {
    const e = p.events[i] as { type?: unknown; frame?: unknown; at?: unknown };
    if (e === null || typeof e !== "object" || typeof e.at !== "number" || !Number.isFinite(e.at)) {
      throw new Error(`profile ${thread}: event ${i} is malformed`);
    }
    const at = e.at * factor;
    if (at < last) throw new Error(`profile ${thread}: event ${i} goes back in time`);
    if (open.length > 0 && at > last) add(keys[keys.length - 1], at - last, last);
    last = at;
    const name = frameName(e.frame);
    if (e.type === "O") {
      open.push(e.frame as number);
      keys.push(keys.length === 0 ? name : keys[keys.length - 1] + SEPARATOR + name);
    } else if (e.type === "C") {
      if (open.length === 0 || open[open.length - 1] !== e.frame) {
        throw new Error(
          `profile ${thread}: event ${i} closes '${name}', which is not the innermost open frame`,
        );
      }
      open.pop();
      keys.pop();
    } else {
      throw new Error(`profile ${thread}: event ${i} has an unknown type '${String(e.type)}'`);
    }
  }
  if (open.length > 0) {
    const end = typeof p.endValue === "number" ? p.endValue * factor : last;
    if (end > last) add(keys[keys.length - 1], end - last, last);
    warnings.push(`profile ${thread}: ${open.length} frames never closed (closed at the end)`);
  }
}

/** The speedscope reader. */
export const speedscopeReader: ProfileReader = {
  name: "speedscope",
  description: "speedscope JSON, sampled or evented (py-spy --format speedscope, flame)",
  detect: (_head, text) => looksLikeSpeedscope(text),
  read: (input, options) =>
    readJsonProfile(
      input,
      options.maxBytes,
      "speedscope profile",
      (json) => speedscopeToProfile(json, input.name),
    ),
};

/** speedscope's name of a flame unit. */
function speedscopeUnit(unit: Unit): string {
  return unit === "nanoseconds" ? "nanoseconds" : unit === "bytes" ? "bytes" : "none";
}

/** The frame table: an index per name, in first-seen order. */
class FrameTable {
  readonly index = new Map<string, number>();
  of(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.index.size;
      this.index.set(name, i);
    }
    return i;
  }
  stack(key: string): number[] {
    return stackFrames(key).map((f) => this.of(f));
  }
}

/** One output profile: a thread's samples (indexes into the timeline), or all stacks. */
interface OutProfile {
  name: string;
  body: string;
}

/** Writes `profile` as speedscope JSON; returns what it could not keep. */
export async function writeSpeedscope(
  profile: Profile,
  out: { add(text: string): Promise<void> },
): Promise<string[]> {
  const warnings: string[] = [];
  if (profile.before) {
    warnings.push("speedscope has no differential profiles: wrote the AFTER weights");
  }
  const table = new FrameTable();
  const unit = speedscopeUnit(profile.unit);
  const outs: OutProfile[] = [];
  const tl = profile.timeline;
  const name = profile.meta.name ?? "flame profile";
  if (tl && tl.stacks.length > 0) {
    // One profile per thread, its samples in time order.
    const byThread = new Map<number, number[]>();
    for (let i = 0; i < tl.stacks.length; i++) {
      const t = tl.threads?.[i] ?? 0;
      let list = byThread.get(t);
      if (!list) byThread.set(t, list = []);
      list.push(i);
    }
    for (const [t, samples] of [...byThread].sort((a, b) => a[0] - b[0])) {
      const info = profile.threads?.[t];
      const threadName = info
        ? [info.name, info.tid !== undefined ? `tid ${info.tid}` : ""].filter(Boolean).join(" ")
        : byThread.size > 1
        ? `thread ${t}`
        : name;
      outs.push({
        name: threadName || `thread ${t}`,
        body: profile.unit === "nanoseconds"
          ? eventedBody(tl, samples, table, warnings)
          : sampledBody(samples.map((i) => [tl.stacks[i], tl.weights[i]]), table, unit),
      });
    }
  } else {
    const stacks = [...profile.stacks].filter(([, w]) => w > 0).sort((
      a,
      b,
    ) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    outs.push({ name, body: sampledBody(stacks, table, unit) });
  }
  await out.add(`{"$schema":${JSON.stringify(SCHEMA)},"name":${JSON.stringify(name)},`);
  await out.add(`"exporter":${JSON.stringify(`flame ${VERSION}`)},"activeProfileIndex":0,`);
  await out.add(`"profiles":[`);
  for (let i = 0; i < outs.length; i++) {
    await out.add(`${i ? "," : ""}{"name":${JSON.stringify(outs[i].name)},${outs[i].body}}`);
  }
  await out.add(`],"shared":{"frames":[`);
  let first = true;
  let block = "";
  for (const frame of table.index.keys()) {
    const info = frameInfo(profile, frame);
    let f = `{"name":${JSON.stringify(frame)}`;
    if (info.file !== undefined) f += `,"file":${JSON.stringify(info.file)}`;
    if (info.line !== undefined) f += `,"line":${info.line}`;
    block += (first ? "" : ",") + f + "}";
    first = false;
    if (block.length > 1 << 16) {
      await out.add(block);
      block = "";
    }
  }
  await out.add(block + "]}}\n");
  return warnings;
}

/** A sampled profile's body: one sample per entry, in the given order. */
function sampledBody(entries: [string, number][], table: FrameTable, unit: string): string {
  const samples: string[] = [];
  const weights: number[] = [];
  let total = 0;
  for (const [stack, weight] of entries) {
    samples.push(`[${table.stack(stack).join(",")}]`);
    weights.push(weight);
    total += weight;
  }
  return `"type":"sampled","unit":"${unit}","startValue":0,"endValue":${total},` +
    `"samples":[${samples.join(",")}],"weights":[${weights.join(",")}]`;
}

/**
 * An evented profile's body: each sample's frames open at its time and stay open for its weight
 * (up to the next sample's time). Frames two samples share stay open between them.
 */
function eventedBody(
  tl: NonNullable<Profile["timeline"]>,
  samples: number[],
  table: FrameTable,
  warnings: string[],
): string {
  const events: string[] = [];
  let open: number[] = [];
  let clipped = 0;
  const start = samples.length ? tl.times[samples[0]] : 0;
  let end = start;
  const closeTo = (keep: number, at: number) => {
    while (open.length > keep) events.push(`{"type":"C","frame":${open.pop()},"at":${at}}`);
  };
  for (let k = 0; k < samples.length; k++) {
    const i = samples[k];
    const at = Math.max(tl.times[i], end);
    const stack = table.stack(tl.stacks[i]);
    if (at > end) closeTo(0, end); // a gap: nothing ran
    let same = 0;
    while (same < open.length && same < stack.length && open[same] === stack[same]) same++;
    closeTo(same, at);
    open = open.slice(0, same);
    for (let d = same; d < stack.length; d++) {
      open.push(stack[d]);
      events.push(`{"type":"O","frame":${stack[d]},"at":${at}}`);
    }
    let until = at + tl.weights[i];
    const next = k + 1 < samples.length ? tl.times[samples[k + 1]] : Infinity;
    if (until > next) {
      clipped += until - next;
      until = next;
    }
    end = until;
  }
  closeTo(0, end);
  if (clipped > 0) {
    warnings.push(
      `speedscope: samples overlapping the next one were cut short (${clipped} ns in all)`,
    );
  }
  return `"type":"evented","unit":"nanoseconds","startValue":${start},"endValue":${end},` +
    `"events":[${events.join(",")}]`;
}

/** The speedscope writer. */
export const speedscopeWriter: ProfileWriter = {
  name: "speedscope",
  extensions: [".speedscope.json", ".speedscope"],
  description: "speedscope JSON: open in https://www.speedscope.app or the speedscope CLI",
  text: true,
  async write(profile, _options, sink) {
    const blocks = new TextBlocks(sink);
    const warnings = await writeSpeedscope(profile, blocks);
    await blocks.flush();
    return warnings;
  },
};
