/**
 * py-spy's raw output (`py-spy record --format raw`): folded stacks whose frames read
 * `func (file.py:line)` (`func (file.py)` with `--nolineno`), optionally under a process or
 * thread root (`--pid`/`--threads`). Read as folded stacks; every such frame is Python with its
 * file and line. py-spy writes a sample taken with no Python frame (a thread not yet or no
 * longer running Python) as a line with an empty stack: those are counted under a frame of
 * their own, `(no Python frames)`.
 */
import { detectFormat, FoldedCollapser } from "../collapse/detect.ts";
import { type Collapser } from "../collapse/types.ts";
import { collapseToProfile } from "./collapsed.ts";
import type { ProfileReader } from "./format.ts";
import { HEAD_BYTES } from "./input.ts";

/** A py-spy frame: `name (file.py:12)` or `name (<frozen x>:12)`, `;` or the count after it. */
const PYSPY_FRAME = / \((?:[^();]*\.pyw?|<[^<>;]*>)(?::\d+)?\)(?:;| \d+$)/;

/** The name given to samples py-spy wrote with an empty stack. */
export const IDLE_FRAME = "(no Python frames)";

/** True when most lines of `text` are folded stacks of py-spy frames. */
function looksLikePyspy(text: string): boolean {
  let pyspy = 0;
  let lines = 0;
  for (const line of text.split("\n", 200)) {
    if (line.trim() === "") continue;
    lines++;
    if (PYSPY_FRAME.test(line.trimEnd()) || /^\s*\d+$/.test(line)) pyspy++;
  }
  return lines > 0 && pyspy * 2 > lines;
}

/** Feeds a folded collapser, turning py-spy's empty stacks (` 3`) into `(no Python frames) 3`. */
class PyspyCollapser implements Collapser {
  readonly #inner = new FoldedCollapser();
  #atLineStart = true;
  push(chunk: string): void {
    // Only a line that starts with a space can be an empty stack: rewrite those alone.
    let out: string[] | undefined;
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (this.#atLineStart && chunk.charCodeAt(i) === 32) {
        (out ??= []).push(chunk.slice(from, i), IDLE_FRAME);
        from = i;
      }
      this.#atLineStart = chunk.charCodeAt(i) === 10;
    }
    this.#inner.push(out === undefined ? chunk : out.join("") + chunk.slice(from));
  }
  finish() {
    return this.#inner.finish();
  }
}

/** The py-spy raw reader. */
export const pyspyRawReader: ProfileReader = {
  name: "pyspy-raw",
  description: "py-spy record --format raw: folded stacks of 'func (file.py:line)' frames",
  detect: (head, text) =>
    detectFormat(text, head.length < HEAD_BYTES) === "folded" && looksLikePyspy(text),
  async read(input) {
    const result = await collapseToProfile(input, new PyspyCollapser(), "py-spy");
    result.profile.frames.set(IDLE_FRAME, { kind: "root" });
    return result;
  },
};
