/**
 * How a Python frame is named in flame's stacks, for every path that makes them (the reader's
 * samples, perf's `py::` frames): `QUALNAME (file.py)`, or `QUALNAME (file.py:42)` with lines.
 *
 * The file part is short but tells files apart: a file of the standard library or of an
 * installed package is named by its path below `lib/pythonX.Y/` or `site-packages/`
 * (`multiprocessing/pool.py`, `requests/api.py`), any other file by its base name (`pool.py`),
 * a pseudo-file (`<frozen importlib._bootstrap>`, `<string>`) as it is. Names that still
 * collide in one profile (two `util.py` of the user's) are lengthened by `uniqueFrameNames`.
 */

/** The frame separator of stack keys, and what stands for it inside a name. */
const SEPARATOR = ";";
const SEPARATOR_LOOKALIKE = "\u037e";

/** Directories below which a file is named by its path: the import path roots. */
const IMPORT_ROOTS = /\/(?:lib\/python\d\.\d+[a-z]*|site-packages|dist-packages)(?=\/)/g;

/** The short file part of a frame name. */
export function shortFileName(file: string): string {
  if (file === "" || file.startsWith("<") || !file.includes("/")) return file;
  let start = -1;
  for (const m of file.matchAll(IMPORT_ROOTS)) start = m.index + m[0].length + 1;
  // The innermost root wins: site-packages inside lib/python3.X/.
  if (start >= 0 && start < file.length) return file.slice(start);
  return file.slice(file.lastIndexOf("/") + 1);
}

/** `QUALNAME (file.py)` or, with `line`, `QUALNAME (file.py:42)`; `;` in either is replaced. */
export function pythonFrameLabel(name: string, file: string, line?: number): string {
  const shown = shortFileName(file);
  const where = line === undefined ? shown : `${shown}:${line}`;
  const label = where === "" ? name : `${name} (${where})`;
  return label.includes(SEPARATOR) ? label.replaceAll(SEPARATOR, SEPARATOR_LOOKALIKE) : label;
}

/** A frame to name: its function, full file name and (optionally) line. */
export interface FrameToName {
  name: string;
  file: string;
  line?: number;
}

/** The identity of a frame to name (function, full file, line). */
export function frameIdentity(f: FrameToName): string {
  return `${f.name}\0${f.file}\0${f.line ?? ""}`;
}

/**
 * Names for a profile's frames (keyed by `frameIdentity`): `pythonFrameLabel`, and where two
 * different files would give the same name, each of them is named by as many trailing path
 * components as it takes to tell them apart (`app/util.py`, `lib/util.py`).
 */
export function uniqueFrameNames(frames: Iterable<FrameToName>): Map<string, string> {
  const byLabel = new Map<string, FrameToName[]>();
  const out = new Map<string, string>();
  for (const f of frames) {
    const id = frameIdentity(f);
    if (out.has(id)) continue;
    const label = pythonFrameLabel(f.name, f.file, f.line);
    out.set(id, label);
    let group = byLabel.get(label);
    if (!group) byLabel.set(label, group = []);
    group.push(f);
  }
  for (const group of byLabel.values()) {
    const files = new Set(group.map((f) => f.file));
    if (files.size < 2) continue;
    const parts = new Map([...files].map((file) => [file, file.split("/").filter((p) => p)]));
    const shortLen = new Map([...files].map((f) => [f, shortFileName(f).split("/").length]));
    // Add one component at a time to every file of the group until all differ.
    for (let extra = 1;; extra++) {
      const shown = new Map<string, string>();
      let longest = true;
      for (const [file, p] of parts) {
        const n = Math.min(p.length, shortLen.get(file)! + extra);
        if (n < p.length) longest = false;
        shown.set(file, n === p.length && file.startsWith("/") ? file : p.slice(-n).join("/"));
      }
      if (new Set(shown.values()).size === files.size || longest) {
        for (const f of group) {
          const where = f.line === undefined
            ? shown.get(f.file)!
            : `${shown.get(f.file)}:${f.line}`;
          const label = `${f.name} (${where})`;
          out.set(frameIdentity(f), label.replaceAll(SEPARATOR, SEPARATOR_LOOKALIKE));
        }
        break;
      }
    }
  }
  return out;
}

/**
 * The names of a sampling run's frames, by index (`uniqueFrameNames`'s); with `lines`, each
 * named by the line running in it.
 */
export function frameLabels(frames: readonly FrameToName[], lines: boolean): string[] {
  const named = frames.map((f) => ({
    name: f.name,
    file: f.file,
    line: lines ? f.line : undefined,
  }));
  const names = uniqueFrameNames(named);
  return named.map((f) => names.get(frameIdentity(f))!);
}
