/**
 * pprof (profile.proto: Go's `pprof`, Parca, Pyroscope, Cloud Profiler) in and out, gzipped or
 * not, through the npm package `pprof-format` (Datadog's). It was chosen over `protobufjs`
 * because it has the pprof schema built in (no .proto file to ship and load, no code generation),
 * has no dependencies, encodes and decodes, and is the library Datadog's own Node.js profiler
 * writes pprof with. Gzip is the runtime's CompressionStream.
 *
 * Out: one sample type from the unit (samples/count, cpu/nanoseconds, space/bytes, or
 * count/count), one function and one location per distinct frame (name, file, start line),
 * one sample per distinct stack (per stack and thread where the profile has threads, with a
 * `thread` label), the start time, duration and sampling period.
 *
 * In: the sample type asked for, else the default one, else the last (as `go tool pprof` picks);
 * a location's inlined lines become frames of their own; the unit comes from the sample type's.
 * The decoder is checked before use: string indexes, ids, and one value per sample type, so a
 * protobuf that is not a profile is one line of error.
 */
import {
  Function as PprofFunction,
  Line,
  Location,
  Profile as PprofProfile,
  Sample,
  StringTable,
  ValueType,
} from "pprof-format";
import { FlameError } from "../errors.ts";
import {
  emptyProfile,
  type FrameInfo,
  frameInfo,
  type Profile,
  SEPARATOR,
  stackFrames,
  type Unit,
} from "../profile/profile.ts";
import type { ProfileReader, ProfileWriter } from "./format.ts";
import { readAllBytes } from "./input.ts";

/** A sample type and period type per flame unit. */
const SAMPLE_TYPES: Record<Unit, [type: string, unit: string]> = {
  samples: ["samples", "count"],
  nanoseconds: ["cpu", "nanoseconds"],
  bytes: ["space", "bytes"],
  count: ["count", "count"],
};

/** Compresses bytes with gzip (CompressionStream). */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Encodes a flame profile as an (uncompressed) pprof protobuf. */
export function encodePprof(profile: Profile): { bytes: Uint8Array; warnings: string[] } {
  const warnings: string[] = [];
  const strings = new StringTable();
  const [type, unit] = SAMPLE_TYPES[profile.unit];
  const functionIds = new Map<string, number>();
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const idOf = (name: string): number => {
    let id = functionIds.get(name);
    if (id !== undefined) return id;
    id = functions.length + 1;
    functionIds.set(name, id);
    const info = frameInfo(profile, name);
    functions.push(
      new PprofFunction({
        id,
        name: strings.dedup(name),
        systemName: strings.dedup(name),
        filename: strings.dedup(info.file ?? ""),
        startLine: info.line ?? 0,
      }),
    );
    locations.push(
      new Location({ id, line: [new Line({ functionId: id, line: info.line ?? 0 })] }),
    );
    return id;
  };
  const samples: Sample[] = [];
  let rounded = false;
  const addSample = (stack: string, weight: number, labels?: { thread: number }) => {
    const value = Math.round(weight);
    if (value !== weight) rounded = true;
    if (value <= 0) return;
    const ids = stackFrames(stack).map(idOf).reverse(); // pprof: leaf first
    samples.push(
      new Sample({
        locationId: ids,
        value: [value],
        label: labels
          ? [{
            key: strings.dedup("thread"),
            str: strings.dedup(threadName(profile, labels.thread)),
          }]
          : [],
      }),
    );
  };
  const tl = profile.timeline;
  if (tl?.threads && profile.threads && profile.threads.length > 1) {
    // Per stack and thread, so a reader can split the threads again.
    const byThread = new Map<string, number>();
    for (let i = 0; i < tl.stacks.length; i++) {
      const key = `${tl.threads[i]}\n${tl.stacks[i]}`;
      byThread.set(key, (byThread.get(key) ?? 0) + tl.weights[i]);
    }
    for (const [key, w] of [...byThread].sort()) {
      const nl = key.indexOf("\n");
      addSample(key.slice(nl + 1), w, { thread: Number(key.slice(0, nl)) });
    }
  } else {
    for (const [stack, w] of [...profile.stacks].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      addSample(stack, w);
    }
  }
  if (rounded) warnings.push("pprof: fractional weights rounded to integers");
  if (profile.before) warnings.push("pprof has no differential profiles: wrote the AFTER weights");
  const rate = profile.meta.sampleRate;
  const periodNs = rate && rate > 0 ? Math.round(1e9 / rate) : 0;
  const sampled = profile.unit === "samples" && periodNs > 0;
  const pprof = new PprofProfile({
    sampleType: [new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) })],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: profile.meta.startMs !== undefined
      ? BigInt(Math.round(profile.meta.startMs * 1e6))
      : 0,
    durationNanos: profile.meta.durationNs !== undefined ? Math.round(profile.meta.durationNs) : 0,
    // A sampled profile's period is the time between samples; otherwise one unit.
    periodType: sampled
      ? new ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") })
      : new ValueType({ type: strings.dedup(type), unit: strings.dedup(unit) }),
    period: sampled ? periodNs : 1,
  });
  return { bytes: pprof.encode(), warnings };
}

function threadName(profile: Profile, thread: number): string {
  const t = profile.threads?.[thread];
  return t?.name ?? (t?.tid !== undefined ? String(t.tid) : `thread ${thread}`);
}

/** The pprof writer: gzipped, as pprof files are by convention. */
export const pprofWriter: ProfileWriter = {
  name: "pprof",
  extensions: [".pb.gz", ".pprof", ".pb"],
  description: "pprof protobuf, gzipped: go tool pprof, Pyroscope, Parca",
  text: false,
  async write(profile, _options, sink) {
    const { bytes, warnings } = encodePprof(profile);
    await sink.write(await gzip(bytes));
    return warnings;
  },
};

/**
 * True when the head can be a pprof protobuf: it starts with field 1 (sample_type, a message
 * of two varints), as Go's encoder and pprof-format write it.
 */
export function looksLikePprof(head: Uint8Array): boolean {
  // Field 1 (sample_type), wire type 2; its length (a varint); then ValueType's field 1 or 2.
  if (head.length < 4 || head[0] !== 0x0a) return false;
  let i = 1;
  let len = 0;
  for (let shift = 0; i < Math.min(head.length, 4); shift += 7) {
    const b = head[i++];
    len |= (b & 0x7f) << shift;
    if (b < 0x80) break;
  }
  return len > 0 && i < head.length && (head[i] === 0x08 || head[i] === 0x10);
}

/** A bigint or number as a safe number, or an error naming `what`. */
function num(v: number | bigint, what: string): number {
  const n = typeof v === "bigint" ? Number(v) : v;
  if (!Number.isSafeInteger(n)) throw new Error(`${what} is out of range`);
  return n;
}

const TIME_UNITS: Record<string, number> = {
  nanoseconds: 1,
  ns: 1,
  microseconds: 1e3,
  us: 1e3,
  milliseconds: 1e6,
  ms: 1e6,
  seconds: 1e9,
  s: 1e9,
};

/** Builds a flame profile from a decoded pprof profile; throws an Error (one line) if malformed. */
export function pprofToProfile(
  p: PprofProfile,
  name: string,
  sampleType?: string,
): { profile: Profile; warnings: string[] } {
  const strings = p.stringTable.strings;
  if (strings.length === 0 || strings[0] !== "") {
    throw new Error('the string table does not start with ""');
  }
  const str = (i: number | bigint, what: string): string => {
    const n = num(i, what);
    if (n < 0 || n >= strings.length) throw new Error(`${what}: string index ${n} out of range`);
    return strings[n];
  };
  if (p.sampleType.length === 0) throw new Error("no sample types");
  const types = p.sampleType.map((t, i) => ({
    type: str(t.type, `sample type ${i}`),
    unit: str(t.unit, `sample type ${i}`),
  }));
  let which = types.length - 1;
  const def = num(p.defaultSampleType, "default_sample_type");
  if (def !== 0) {
    const d = types.findIndex((t) => t.type === str(def, "default_sample_type"));
    if (d >= 0) which = d;
  }
  if (sampleType !== undefined) {
    const byName = types.findIndex((t) => t.type === sampleType);
    const byIndex = /^\d+$/.test(sampleType) ? Number(sampleType) : -1;
    which = byName >= 0 ? byName : byIndex >= 0 && byIndex < types.length ? byIndex : -1;
    if (which < 0) {
      throw new FlameError(
        `${name}: no sample type '${sampleType}' (it has: ${types.map((t) => t.type).join(", ")})`,
      );
    }
  }
  const chosen = types[which];
  const scale = TIME_UNITS[chosen.unit];
  const unit: Unit = scale !== undefined
    ? "nanoseconds"
    : chosen.unit === "bytes"
    ? "bytes"
    : chosen.type === "samples" ||
        chosen.unit === "count" && chosen.type !== "alloc_objects" &&
          chosen.type !== "inuse_objects"
    ? "samples"
    : "count";
  const factor = scale ?? 1;

  // Functions and locations by id.
  const functions = new Map<number, { name: string; info: FrameInfo }>();
  for (const f of p.function) {
    const id = num(f.id, "function id");
    if (id === 0 || functions.has(id)) throw new Error(`function id ${id} is zero or repeated`);
    let fname = str(f.name, `function ${id}`) || str(f.systemName, `function ${id}`) ||
      `function ${id}`;
    fname = fname.replaceAll(SEPARATOR, ":");
    const file = str(f.filename, `function ${id}`);
    const line = num(f.startLine, `function ${id}`);
    const info: FrameInfo = { kind: kindOf(fname, file) };
    if (file) info.file = file;
    if (line > 0) info.line = line;
    functions.set(id, { name: fname, info });
  }
  const mappings = new Map<number, string>();
  for (const m of p.mapping) {
    const file = str(m.filename, "mapping");
    mappings.set(num(m.id, "mapping id"), file.slice(file.lastIndexOf("/") + 1));
  }
  const profile = emptyProfile(unit, { name, producer: "pprof" });
  /** Each location's frames, root first (inlined callers before their callees). */
  const locations = new Map<number, string[]>();
  for (const loc of p.location) {
    const id = num(loc.id, "location id");
    if (id === 0 || locations.has(id)) throw new Error(`location id ${id} is zero or repeated`);
    const frames: string[] = [];
    for (const l of loc.line) {
      const fid = num(l.functionId, `location ${id}`);
      const fn = functions.get(fid);
      if (!fn) throw new Error(`location ${id} names an unknown function ${fid}`);
      frames.push(fn.name);
      if (!profile.frames.has(fn.name)) profile.frames.set(fn.name, fn.info);
    }
    if (frames.length === 0) {
      // No symbols: the mapping and the address are all there is.
      const module = mappings.get(num(loc.mappingId, `location ${id}`));
      const address = `0x${BigInt(loc.address).toString(16)}`;
      const frame = module ? `[${module} ${address}]` : address;
      frames.push(frame);
      profile.frames.set(frame, module ? { kind: "native", module } : { kind: "unknown" });
    }
    locations.set(id, frames.reverse()); // pprof lists the innermost inlined function first
  }
  const threads = new Map<string, number>();
  let timeline = false;
  for (let s = 0; s < p.sample.length; s++) {
    const sample = p.sample[s];
    if (sample.value.length !== types.length) {
      throw new Error(
        `sample ${s} has ${sample.value.length} values for ${types.length} sample types`,
      );
    }
    const value = num(sample.value[which], `sample ${s}`) * factor;
    if (value === 0) continue;
    const frames: string[] = [];
    for (let k = sample.locationId.length - 1; k >= 0; k--) {
      const id = num(sample.locationId[k], `sample ${s}`);
      const loc = locations.get(id);
      if (!loc) throw new Error(`sample ${s} names an unknown location ${id}`);
      for (const f of loc) frames.push(f);
    }
    if (frames.length === 0) continue;
    const stack = frames.join(SEPARATOR);
    profile.stacks.set(stack, (profile.stacks.get(stack) ?? 0) + value);
    // A thread label (flame's own pprof, and others that label threads) splits threads again.
    const label = sample.label.find((l) => {
      const key = str(l.key, `sample ${s} label`);
      return key === "thread" || key === "thread_name" || key === "thread_id";
    });
    if (label) {
      const t = str(label.str, `sample ${s} label`) || String(num(label.num, `sample ${s} label`));
      let ti = threads.get(t);
      if (ti === undefined) threads.set(t, ti = threads.size);
      const tl = profile.timeline ??= { stacks: [], weights: [], times: [], threads: [] };
      tl.stacks.push(stack);
      tl.weights.push(value);
      tl.times.push(0);
      tl.threads!.push(ti);
      timeline = true;
    }
  }
  if (timeline && threads.size > 1) {
    profile.threads = [...threads.keys()].map((n) => ({ name: n }));
  } else {
    delete profile.timeline;
  }
  // Epoch nanoseconds pass 2^53: a millisecond's precision is all startMs keeps anyway.
  const timeNanos = Number(p.timeNanos);
  if (timeNanos > 0) profile.meta.startMs = timeNanos / 1e6;
  const duration = num(p.durationNanos, "duration_nanos");
  if (duration > 0) profile.meta.durationNs = duration;
  const period = num(p.period, "period");
  const periodUnit = p.periodType ? str(p.periodType.unit, "period_type") : "";
  // A period of one unit is no sampling interval (flame writes it for unsampled profiles).
  if (period > 1 && TIME_UNITS[periodUnit] !== undefined) {
    profile.meta.sampleRate = Math.round(1e9 / (period * TIME_UNITS[periodUnit]));
  }
  const warnings: string[] = [];
  if (types.length > 1 && sampleType === undefined) {
    warnings.push(
      `${name}: read sample type '${chosen.type}' of ${types.map((t) => t.type).join(", ")}` +
        " (choose with --sample-type)",
    );
  }
  return { profile, warnings };
}

/** A frame's kind from its function name and file. */
function kindOf(name: string, file: string): FrameInfo["kind"] {
  if (/\.pyw?$/.test(file)) return "python";
  if (/\.(?:m?js|cjs|ts|tsx|jsx)$/.test(file)) return "js";
  if (/\.java$/.test(file)) return "java";
  if (file.endsWith(".go") || file.endsWith(".c") || file.endsWith(".cc") || file.endsWith(".rs")) {
    return "native";
  }
  return name.startsWith("[") ? "unknown" : file ? "native" : "unknown";
}

/** The pprof reader. */
export const pprofReader: ProfileReader = {
  name: "pprof",
  description: "pprof protobuf, gzipped or not (go tool pprof, Pyroscope, Parca, pprof-nodejs)",
  detect: (head) => looksLikePprof(head),
  async read(input, options) {
    const bytes = await readAllBytes(input, options.maxBytes);
    let decoded: PprofProfile;
    try {
      decoded = PprofProfile.decode(bytes);
    } catch (err) {
      throw new FlameError(`${input.name}: not a pprof profile (${(err as Error).message})`);
    }
    try {
      return pprofToProfile(decoded, input.name, options.sampleType);
    } catch (err) {
      if (err instanceof FlameError) throw err;
      throw new FlameError(`${input.name}: not a pprof profile: ${(err as Error).message}`);
    }
  },
};
