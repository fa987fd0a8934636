/**
 * A profile summarized: the functions that take the most time by their own (self) time and by
 * their total time (their own and their callees'), with percentages of the whole. A function
 * counts once per stack in its total even when it recurses, so no total exceeds 100%. Written
 * as a text table for people, or as JSON for CI scripts (`jq '.bySelf[0].name'`).
 */
import { formatBytes, groupDigits, tableLines } from "../format.ts";
import { showable } from "../log.ts";
import { frameInfo, type Profile, SEPARATOR, totalWeight, type Unit } from "../profile/profile.ts";
import { type ProfileWriter, TextBlocks } from "./format.ts";

/** Functions listed per table unless asked otherwise. */
export const DEFAULT_TOP = 20;

/** One function's line of the summary. */
export interface FunctionSummary {
  name: string;
  kind: string;
  file?: string;
  line?: number;
  /** Weight of the stacks it is the leaf of. */
  self: number;
  /** Weight of the stacks it is in (once per stack). */
  total: number;
  selfPercent: number;
  totalPercent: number;
}

/** The whole summary, as the JSON output holds it. */
export interface ProfileSummary {
  name?: string;
  producer?: string;
  unit: Unit;
  /** Sum of all weights. */
  total: number;
  /** Distinct stacks. */
  stacks: number;
  /** Distinct functions (frame names). */
  functions: number;
  /** The top functions by self weight, largest first (ties by name). */
  bySelf: FunctionSummary[];
  /** The top functions by total weight, largest first (ties by name). */
  byTotal: FunctionSummary[];
}

/** Summarizes `profile`: one pass over its stacks, then two partial sorts. */
export function summarize(profile: Profile, top = DEFAULT_TOP): ProfileSummary {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const seen = new Set<string>();
  for (const [stack, weight] of profile.stacks) {
    const frames = stack.split(SEPARATOR);
    const leaf = frames[frames.length - 1];
    self.set(leaf, (self.get(leaf) ?? 0) + weight);
    seen.clear();
    for (const f of frames) {
      if (seen.has(f)) continue; // recursion: once per stack
      seen.add(f);
      total.set(f, (total.get(f) ?? 0) + weight);
    }
  }
  const sum = totalWeight(profile.stacks);
  const entry = (name: string): FunctionSummary => {
    const info = frameInfo(profile, name);
    const s = self.get(name) ?? 0;
    const t = total.get(name) ?? 0;
    const out: FunctionSummary = {
      name,
      kind: info.kind,
      self: s,
      total: t,
      selfPercent: sum > 0 ? round2((100 * s) / sum) : 0,
      totalPercent: sum > 0 ? round2((100 * t) / sum) : 0,
    };
    if (info.file !== undefined) out.file = info.file;
    if (info.line !== undefined) out.line = info.line;
    return out;
  };
  const rank = (m: Map<string, number>) =>
    [...m]
      .filter(([, w]) => w > 0)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, top)
      .map(([name]) => entry(name));
  return {
    name: profile.meta.name,
    producer: profile.meta.producer,
    unit: profile.unit,
    total: sum,
    stacks: profile.stacks.size,
    functions: total.size,
    bySelf: rank(self),
    byTotal: rank(total),
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** A weight in the profile's unit, for people: `1,234 samples`, `12.3 ms`, `1.50 MiB`. */
export function formatWeight(weight: number, unit: Unit): string {
  if (unit === "nanoseconds") return formatDuration(weight);
  if (unit === "bytes") return formatBytes(Math.round(weight));
  return Number.isInteger(weight) ? groupDigits(weight) : weight.toFixed(2);
}

/** Nanoseconds as `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`. */
export function formatDuration(ns: number): string {
  const units: [number, string][] = [[1e9, "s"], [1e6, "ms"], [1e3, "µs"]];
  for (const [size, name] of units) {
    if (Math.abs(ns) >= size) {
      const v = ns / size;
      return `${v.toFixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)} ${name}`;
    }
  }
  return `${Math.round(ns)} ns`;
}

/** The summary as a text table. */
export function summaryText(s: ProfileSummary): string {
  const what = s.unit === "nanoseconds" ? "time" : s.unit === "bytes" ? "bytes" : s.unit;
  const head = `${s.name ? `${showable(s.name)}: ` : ""}${formatWeight(s.total, s.unit)}${
    s.unit === "samples" || s.unit === "count" ? ` ${s.unit}` : ""
  } in ${groupDigits(s.stacks)} stacks, ${groupDigits(s.functions)} functions`;
  const table = (title: string, rows: FunctionSummary[]) => {
    const cells = rows.map((r) => [
      formatWeight(r.self, s.unit),
      `${r.selfPercent.toFixed(2)}%`,
      formatWeight(r.total, s.unit),
      `${r.totalPercent.toFixed(2)}%`,
      showable(r.name) +
      (r.file && !r.name.includes(r.file)
        ? `  [${showable(r.file)}${r.line ? `:${r.line}` : ""}]`
        : ""),
    ]);
    const header = ["self", "self%", "total", "total%", "function"];
    return [`${title}:`, ...tableLines([header, ...cells])].join("\n");
  };
  return [
    head,
    "",
    table(`Top ${s.bySelf.length} functions by self ${what}`, s.bySelf),
    "",
    table(`Top ${s.byTotal.length} functions by total ${what} (self and callees)`, s.byTotal),
    "",
  ].join("\n");
}

/** The text summary writer. */
export const summaryWriter: ProfileWriter = {
  name: "summary",
  extensions: [".txt"],
  description: "the top functions by self and total time, as a text table",
  text: true,
  async write(profile, options, sink) {
    const blocks = new TextBlocks(sink);
    await blocks.add(summaryText(summarize(profile, options.top)));
    await blocks.flush();
    return [];
  },
};

/** The JSON summary writer (the same numbers, for scripts). */
export const summaryJsonWriter: ProfileWriter = {
  name: "json",
  extensions: [".json"],
  description: "the summary as JSON, for CI scripts (jq '.bySelf[0]')",
  text: true,
  async write(profile, options, sink) {
    const blocks = new TextBlocks(sink);
    await blocks.add(JSON.stringify(summarize(profile, options.top), null, 2) + "\n");
    await blocks.flush();
    return [];
  },
};
