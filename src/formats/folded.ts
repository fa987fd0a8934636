/**
 * Folded stacks (`root;frame;leaf COUNT`, as stackcollapse-*.pl, `flame collapse` and py-spy
 * `--format raw` write them) in and out. Reading merges equal stacks; frames are described by
 * their names (`func (file.py:12)` is Python, `f_[k]` kernel, ...). Writing sorts the stacks in
 * byte order, so equal profiles give equal files; a differential profile (with BEFORE weights)
 * is written as `stack BEFORE AFTER` lines, as difffolded.pl writes them.
 */
import { detectFormat, FoldedCollapser } from "../collapse/detect.ts";
import { formatCount, sortedStacks, writeFolded } from "../folded/stacks.ts";
import type { Profile } from "../profile/profile.ts";
import { collapseToProfile } from "./collapsed.ts";
import { type ProfileReader, type ProfileWriter, TextBlocks } from "./format.ts";
import { HEAD_BYTES } from "./input.ts";

/** The folded-stacks reader. */
export const foldedReader: ProfileReader = {
  name: "folded",
  description: "folded stacks: 'main;work;leaf 42' lines (flame collapse, stackcollapse-*.pl)",
  detect: (head, text) => detectFormat(text, head.length < HEAD_BYTES) === "folded",
  read: (input) => collapseToProfile(input, new FoldedCollapser(), "folded"),
};

/** Writes a profile's stacks as sorted folded lines (two counts for a differential). */
export async function writeFoldedProfile(
  profile: Profile,
  out: { write(text: string): Promise<void> },
): Promise<void> {
  const before = profile.before;
  if (before === undefined) {
    await writeFolded(profile.stacks, out);
    return;
  }
  // Every stack of either side, with 0 where the other side lacks it.
  const all = new Map<string, number>();
  for (const stack of before.keys()) all.set(stack, 0);
  for (const [stack, w] of profile.stacks) all.set(stack, w);
  let block = "";
  for (const [stack, after] of sortedStacks(all)) {
    block += `${stack} ${formatCount(before.get(stack) ?? 0)} ${formatCount(after)}\n`;
    if (block.length > 1 << 16) {
      await out.write(block);
      block = "";
    }
  }
  if (block) await out.write(block);
}

/** The folded-stacks writer. */
export const foldedWriter: ProfileWriter = {
  name: "folded",
  extensions: [".folded", ".collapsed", ".txt.folded"],
  description: "folded stacks, sorted: 'main;work;leaf 42' lines",
  text: true,
  async write(profile, _options, sink) {
    const blocks = new TextBlocks(sink);
    await writeFoldedProfile(profile, { write: (text) => blocks.add(text) });
    await blocks.flush();
    return [];
  },
};
