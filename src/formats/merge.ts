/**
 * Merging profiles read from several inputs into one: stacks with equal keys add up (so one
 * program's profiles from several runs, or several processes, make one graph). Weights of
 * different units cannot add up: that is an error naming both.
 */
import { FlameError } from "../errors.ts";
import type { Profile } from "../profile/profile.ts";

/**
 * One profile of all of `profiles` (the first one itself when alone). `names` name the inputs
 * for messages. Timelines are kept only for a single input: separate recordings share no clock.
 */
export function mergeProfiles(profiles: Profile[], names: string[]): Profile {
  if (profiles.length === 0) throw new FlameError("no profiles to merge");
  if (profiles.length === 1) return profiles[0];
  const first = profiles[0];
  const merged: Profile = {
    unit: first.unit,
    stacks: new Map(),
    frames: new Map(),
    meta: { name: names.join(" + ") },
  };
  const producers = new Set(profiles.map((p) => p.meta.producer));
  if (producers.size === 1 && first.meta.producer) merged.meta.producer = first.meta.producer;
  profiles.forEach((p, i) => {
    if (p.unit !== first.unit) {
      throw new FlameError(
        `cannot merge ${names[i]} (${p.unit}) with ${names[0]} (${first.unit}): ` +
          "their weights are of different units",
      );
    }
    for (const [stack, w] of p.stacks) {
      merged.stacks.set(stack, (merged.stacks.get(stack) ?? 0) + w);
    }
    if (p.before) {
      const before = merged.before ??= new Map();
      for (const [stack, w] of p.before) before.set(stack, (before.get(stack) ?? 0) + w);
    }
    for (const [name, info] of p.frames) {
      if (!merged.frames.has(name)) merged.frames.set(name, info);
    }
  });
  const rates = new Set(profiles.map((p) => p.meta.sampleRate));
  if (rates.size === 1 && first.meta.sampleRate !== undefined) {
    merged.meta.sampleRate = first.meta.sampleRate;
  }
  return merged;
}
