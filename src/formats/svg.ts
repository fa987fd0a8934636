/**
 * The interactive SVG flame graph as a profile writer: the renderer (src/render/) draws the
 * profile's stacks; a differential profile (with BEFORE weights) is drawn as one, and tooltips
 * show time or bytes when the profile's unit is nanoseconds or bytes.
 */
import type { FoldedLine } from "../folded/parse.ts";
import type { Profile } from "../profile/profile.ts";
import { type RenderOptions, renderSvg } from "../render/mod.ts";
import type { ProfileWriter } from "./format.ts";

/** The folded lines the renderer draws: AFTER weights, with BEFORE ones for a differential. */
export function* profileLines(profile: Profile): Iterable<FoldedLine> {
  const before = profile.before;
  for (const [stack, count] of profile.stacks) {
    yield before ? { stack, count, before: before.get(stack) ?? 0 } : { stack, count };
  }
  if (before) {
    for (const [stack, b] of before) {
      if (!profile.stacks.has(stack)) yield { stack, count: 0, before: b };
    }
  }
}

/** Render options for `profile`: the count name from its unit unless one is given. */
export function renderOptionsFor(
  profile: Profile,
  given: Partial<RenderOptions> = {},
): Partial<RenderOptions> {
  if (given.countName !== undefined) return given;
  if (profile.unit === "nanoseconds") return { ...given, countName: "ns" };
  if (profile.unit === "bytes") return { ...given, countName: "bytes" };
  if (profile.unit === "count") return { ...given, countName: "count" };
  return given;
}

/** The SVG writer. */
export const svgWriter: ProfileWriter = {
  name: "svg",
  extensions: [".svg"],
  description: "an interactive SVG flame graph (open it in a web browser)",
  text: true,
  async write(profile, options, sink) {
    const result = renderSvg(profileLines(profile), renderOptionsFor(profile, options.render));
    await sink.write(new TextEncoder().encode(result.svg));
    return result.warnings;
  },
};
