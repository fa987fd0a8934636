/**
 * The collapsed output of CPython's own sampling profiler (`python -m profiling.sampling
 * --collapsed`, 3.15+): folded lines `tid:N;file.py:func:line;... COUNT`, one tower per thread.
 * Frames become `func (file.py:line)`, as py-spy names them, so profiles of either tool compare;
 * special frames (`<GC>`, `<native>`) keep their name. The `tid:N` root is kept as the thread's
 * root frame.
 */
import { FoldedCollapser } from "../collapse/detect.ts";
import { FlameError } from "../errors.ts";
import { emptyProfile, type Profile, SEPARATOR } from "../profile/profile.ts";
import { collapseToProfile } from "./collapsed.ts";
import type { ProfileReader } from "./format.ts";

/** `tid:123;` at the start of a line, or `tid:123 4` (a thread sampled with no frames). */
const THREAD_ROOT = /^tid:\d+(?:;| \d+\s*$)/;
/** `file.py:func:line` (the file is a base name: it holds no `:`). */
const FRAME = /^([^:]+):(.+):(\d+)$/;

/** True when most lines of `text` are CPython collapsed stacks. */
function looksLikeCpythonCollapsed(text: string): boolean {
  let lines = 0;
  let matched = 0;
  for (const line of text.split("\n", 200)) {
    if (line.trim() === "") continue;
    lines++;
    if (THREAD_ROOT.test(line)) matched++;
  }
  return lines > 0 && matched * 2 > lines;
}

/** `file.py:func:line` → `func (file.py:line)` with what it says; others unchanged. */
function renameFrame(profile: Profile, frame: string, names: Map<string, string>): string {
  let name = names.get(frame);
  if (name !== undefined) return name;
  const m = FRAME.exec(frame);
  if (frame.startsWith("tid:")) {
    name = frame;
    profile.frames.set(name, { kind: "root" });
  } else if (m) {
    name = `${m[2]} (${m[1]}:${m[3]})`;
    profile.frames.set(name, { kind: "python", file: m[1], line: Number(m[3]) });
  } else {
    name = frame;
  }
  names.set(frame, name);
  return name;
}

/** The reader of CPython's sampling profiler's collapsed stacks. */
export const cpythonCollapsedReader: ProfileReader = {
  name: "cpython-collapsed",
  description: "CPython's sampling profiler --collapsed: 'tid:N;file.py:func:line;... COUNT'",
  detect: (_head, text) => looksLikeCpythonCollapsed(text),
  async read(input) {
    const folded = await collapseToProfile(input, new FoldedCollapser(), "profiling.sampling");
    const profile = emptyProfile("samples", folded.profile.meta);
    const names = new Map<string, string>();
    for (const [stack, weight] of folded.profile.stacks) {
      const frames = stack.split(SEPARATOR).map((f) => renameFrame(profile, f, names));
      const key = frames.join(SEPARATOR);
      profile.stacks.set(key, (profile.stacks.get(key) ?? 0) + weight);
    }
    if (profile.stacks.size === 0) throw new FlameError(`${input.name}: no stacks`);
    return { profile, warnings: folded.warnings };
  },
};
